"""A full disk or a read-only run folder: one clear line, and nothing already computed is lost.

Tests run as root, where ``chmod`` does not stop writes, so the failures are injected by
making ``os.replace``, ``mkdir`` or a plugin's own write raise ``ENOSPC`` / ``EROFS`` /
``EACCES`` at chosen moments; one test uses a path under ``/proc``, which nobody can write.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.errors import KdtextError
from kdtext.pipeline.recipe import run_recipe
from kdtext.pipeline.runner import Runner, Stage, checksums

from test_reliability_teacher import PlainTeacher, TeacherPlugin, _config, files  # noqa: F401

FIRST_FOUR = ["data", "teacher", "corpus", "augment"]


def _args(files: Path, run_dir: Path) -> list[str]:  # noqa: F811
    return ["run", "--train", str(files / "train.jsonl"), "--dev", str(files / "dev.jsonl"), "--test", str(files / "test.jsonl"),
            "--teacher", "plain", "--teacher-model", str(files / "model"), "--augmenter", "mask", "--n-synthetic", "30",
            "--student-param", "width=8", "--student-param", "embed_size=100", "--student-param", "max_epochs=1",
            "--student-param", "progress=false", "-o", str(run_dir)]  # fmt: skip


def _snapshot(run_dir: Path) -> dict:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for name, entry in manifest["stages"].items():
        assert checksums(run_dir / name) == entry["files"], name
    return manifest


def _one_line(result, *parts: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and all(p in last for p in parts), last


def _failing_replace(target_name: str, code: int):
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == target_name or Path(dst).name.startswith(target_name + "-"):  # .NAME.old-XXXXXXXX
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    return replace


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EROFS, "cannot write here")])
def test_failed_write_in_the_label_stage_keeps_finished_stages_and_resumes(register_plugin, files, tmp_path, monkeypatch, code, words):  # noqa: F811
    register_plugin(TeacherPlugin(), "plain-teacher", distribution=("kdtext-plain", "0.1"))
    run_dir = tmp_path / "run"
    monkeypatch.setattr(os, "replace", _failing_replace("probs.npy", code))
    result = CliRunner().invoke(cli, _args(files, run_dir))
    _one_line(result, "probs.npy", words)
    before = _snapshot(run_dir)
    assert list(before["stages"]) == FIRST_FOUR
    assert not (run_dir / "label").exists() and not list(run_dir.glob(".*"))  # no half-built folder left either

    monkeypatch.undo()

    result = CliRunner().invoke(cli, [*_args(files, run_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["resumed"] == FIRST_FOUR


def test_plugin_writing_to_a_full_disk_is_one_line_naming_the_stage(register_plugin, files, tmp_path, monkeypatch):  # noqa: F811
    register_plugin(TeacherPlugin(), "plain-teacher", distribution=("kdtext-plain", "0.1"))

    def save(self, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(path) / "weights.bin"))

    monkeypatch.setattr(PlainTeacher, "save", save)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, _args(files, run_dir))
    _one_line(result, "weights.bin", "stage 'teacher' failed", "no space left on the device", "rerun to resume")
    assert list(_snapshot(run_dir)["stages"]) == ["data"]
    assert not list(run_dir.glob(".*.partial"))


def test_manifest_that_cannot_be_written_loses_nothing(register_plugin, files, tmp_path, monkeypatch):  # noqa: F811
    register_plugin(TeacherPlugin(), "plain-teacher", distribution=("kdtext-plain", "0.1"))
    run_dir = tmp_path / "run"
    config = _config(files)
    calls = {"n": 0}
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "manifest.json":
            calls["n"] += 1
            if calls["n"] == 3:  # after data and teacher are recorded, recording corpus fails
                raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KdtextError, match="manifest.json: no space left on the device"):
        run_recipe(config, run_dir, quiet=True)
    assert list(_snapshot(run_dir)["stages"]) == ["data", "teacher"]
    assert (run_dir / "corpus").is_dir()  # complete, just not recorded: it is redone
    monkeypatch.undo()
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == ["data", "teacher"]


def _stages(log: list[str]) -> list[Stage]:
    def body(name):
        def run(ctx):
            log.append(name)
            (ctx.out / "out.txt").write_text(name)
            return {}

        return run

    return [Stage("one", "one", body("one")), Stage("two", "two", body("two"), settings=lambda c: c["b"], depends=("one",))]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_runner_mkdir_and_rename_failures_are_one_clear_error(tmp_path, monkeypatch, code):
    log: list[str] = []
    Runner({"b": 1}, tmp_path, _stages(log), quiet=True).run()
    before = _snapshot(tmp_path)

    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name.endswith(".partial"):
            raise OSError(code, os.strerror(code), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(KdtextError, match=r"\.two\.partial: cannot start stage 'two': .*stages finished earlier are kept"):
        Runner({"b": 2}, tmp_path, _stages(log), quiet=True).run()
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before

    # the folder cannot be moved at all (read-only)
    monkeypatch.setattr(os, "replace", _failing_replace(".two.old", code))
    with pytest.raises(KdtextError, match=r"two: cannot move the finished stage into place"):
        Runner({"b": 2}, tmp_path, _stages(log), quiet=True).run()
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before  # the old folder is still there, still matching
    # the old folder was moved aside, then neither the new one nor the old one could move in
    # (or a kill came between the two renames): the next run puts the old one back
    monkeypatch.setattr(os, "replace", _failing_replace("two", code))
    with pytest.raises(KdtextError, match=r"two: cannot move the finished stage into place"):
        Runner({"b": 2}, tmp_path, _stages(log), quiet=True).run()
    monkeypatch.undo()
    (aside,) = tmp_path.glob(".two.old-*")
    assert (aside / "out.txt").read_text() == "two" and not (tmp_path / "two").exists()
    n_runs = log.count("two")
    assert Runner({"b": 1}, tmp_path, _stages(log), quiet=True).run() and _snapshot(tmp_path) == before
    assert log.count("two") == n_runs  # the restored folder was reused, not recomputed

    runner = Runner({"b": 2}, tmp_path, _stages(log), quiet=True)
    runner.run()
    assert runner.skipped == ["one"] and runner.executed == ["two"]


def test_run_folder_that_cannot_be_created_is_one_line(tmp_path):
    for run_dir in ("/proc/kdtext-run", "/proc/self/kdtext-run/deeper"):
        result = CliRunner().invoke(cli, ["run", "--data", "demo", "-o", run_dir, "--teacher-model", str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "cannot create the run folder" in result.output, result.output


def test_unreadable_or_foreign_manifest_reruns_instead_of_crashing(tmp_path):
    log: list[str] = []
    Runner({"b": 1}, tmp_path, _stages(log), quiet=True).run()
    for content in ("{half", "[1, 2]", '{"stages": [1]}', "\xff"):
        (tmp_path / "manifest.json").write_text(content, encoding="latin-1")
        log.clear()
        Runner({"b": 1}, tmp_path, _stages(log), quiet=True).run()
        assert log == ["one", "two"], content
        _snapshot(tmp_path)
