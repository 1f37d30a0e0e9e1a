"""The stage runner: atomic stage folders, resume, and reruns of exactly the affected stages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from kdtext.errors import ConfigError
from kdtext.io import atomic_write
from kdtext.pipeline.config import RunConfig, load_config
from kdtext.pipeline.runner import Runner, Stage


@dataclass
class Settings:
    a: int = 1
    b: int = 1
    fail_in: str | None = None
    calls: list[str] = field(default_factory=list)


def make_stages(settings: Settings) -> list[Stage]:
    def body(name):
        def run(ctx):
            settings.calls.append(name)
            if settings.fail_in == name:
                (ctx.out / "half.txt").write_text("half")
                raise KeyboardInterrupt
            upstream = "".join((ctx.input(d) / "out.txt").read_text() for d in ctx.stage.depends)
            (ctx.out / "out.txt").write_text(upstream + name)
            return {"name": name}

        return run

    return [
        Stage("one", "first", body("one"), settings=lambda c: c.a),
        Stage("two", "second", body("two"), settings=lambda c: c.b, depends=("one",)),
        Stage("three", "third", body("three"), depends=("two",)),
        Stage("side", "independent of a", body("side"), settings=lambda c: c.b),
    ]


def test_resume_and_rerun_only_affected(tmp_path):
    settings = Settings()
    Runner(settings, tmp_path, make_stages(settings), quiet=True).run()
    assert settings.calls == ["one", "two", "three", "side"]
    assert (tmp_path / "three" / "out.txt").read_text() == "onetwothree"

    settings.calls.clear()
    runner = Runner(settings, tmp_path, make_stages(settings), quiet=True)
    runner.run()
    assert settings.calls == [] and runner.skipped == ["one", "two", "three", "side"]

    settings.a = 2  # affects one, and through it two and three, not side
    Runner(settings, tmp_path, make_stages(settings), quiet=True).run()
    assert settings.calls == ["one", "two", "three"]


def test_interrupted_stage_leaves_no_artifact_and_resumes(tmp_path):
    settings = Settings(fail_in="two")
    with pytest.raises(KeyboardInterrupt):
        Runner(settings, tmp_path, make_stages(settings), quiet=True).run()
    assert not (tmp_path / "two").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["one"]

    settings.fail_in, settings.calls = None, []
    Runner(settings, tmp_path, make_stages(settings), quiet=True).run()
    assert settings.calls == ["two", "three", "side"]
    assert not list(tmp_path.glob(".*.partial"))


def test_tampered_artifact_is_recomputed(tmp_path):
    settings = Settings()
    Runner(settings, tmp_path, make_stages(settings), quiet=True).run()
    (tmp_path / "two" / "out.txt").write_text("corrupted")
    settings.calls.clear()
    Runner(settings, tmp_path, make_stages(settings), quiet=True).run()
    assert settings.calls == ["two"]  # three's inputs did not change fingerprint, its own files are intact
    assert (tmp_path / "two" / "out.txt").read_text() == "onetwo"


def test_atomic_write_keeps_old_content_on_failure(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write("new, half")
            raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_config_precedence(tmp_path):
    (tmp_path / "train.jsonl").write_text("")
    toml = tmp_path / "run.toml"
    toml.write_text(
        'train = "train.jsonl"\ndev = "d.jsonl"\ntest = "t.jsonl"\nseed = 3\nn_synthetic = 100\n'
        '[student_params]\nwidth = 32\ndropout = 0.1\n'
    )
    config = load_config(toml, {"seed": 7, "student_params": {"width": 64}})
    assert config.seed == 7  # flag beats file
    assert config.n_synthetic == 100  # file beats default
    assert config.lang == "en"  # default
    assert config.student_params == {"width": 64, "dropout": 0.1}
    assert config.train == str(tmp_path / "train.jsonl")  # relative to the file


@pytest.mark.parametrize(
    "content, overrides, message",
    [
        ("sed = 1\n", {}, r"run.toml: unknown setting 'sed'"),
        ("seed = \n", {}, r"run.toml: invalid TOML"),
        ("", {}, r"missing --train, --dev, --test"),
        ("data = 'demo'\nquantize = 'int4'\n", {}, r"unknown quantize 'int4'"),
    ],
)
def test_config_errors(tmp_path, content, overrides, message):
    toml = tmp_path / "run.toml"
    toml.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(toml, overrides)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file does not exist"):
        load_config(tmp_path / "nope.toml", {})
    assert RunConfig(data="demo").to_json()["n_synthetic"] == 60000


def test_replace_directory_swaps_in_the_new_folder(tmp_path):
    from kdtext.io import replace_directory

    target, built = tmp_path / "model", tmp_path / ".model.tmp"
    target.mkdir()
    (target / "old.txt").write_text("old")
    built.mkdir()
    (built / "new.txt").write_text("new")
    replace_directory(built, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert [p.name for p in target.iterdir()] == ["new.txt"]
