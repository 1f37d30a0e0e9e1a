"""The plugin manager: built-ins, hooks, clashes, broken third-party plugins."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy
import pytest
from click.testing import CliRunner

import kdtext
from kdtext import hookspecs, plugins
from kdtext.cli import cli, plugin_commands
from kdtext.errors import PluginError, UnknownPluginError

ROOT = Path(__file__).resolve().parent.parent


class FakeTeacher(kdtext.Teacher):
    """A fake teacher for tests."""

    name = "fake-teacher"

    def fit(self, train, dev=None):
        return {}

    def predict_proba(self, texts):
        raise NotImplementedError

    def save(self, path):
        pass

    @classmethod
    def load(cls, path):
        return cls()


class FakePlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("fake-teacher", FakeTeacher)


def test_builtins_register_through_the_same_hooks():
    import importlib

    plugins.load_plugins()
    specs = {name for name in dir(kdtext.hookspecs) if name.startswith("register_")}
    for module_name in plugins.DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        assert plugins.pm.get_plugin(module_name) is module, module_name  # registered under its module name
        hooks = {caller.name for caller in plugins.pm.get_hookcallers(module)}
        assert hooks and hooks <= specs, (module_name, hooks)  # through the public hooks, nothing private
        assert plugins.plugin_origin(module_name)[0] == "kdtext"


def test_fake_plugin_is_listed_with_its_distribution(register_plugin):
    register_plugin(FakePlugin(), "fake", distribution=("kdtext-fake", "1.2.3"))
    assert plugins.get_teacher("fake-teacher") is FakeTeacher
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["fake-teacher"] == {
        "name": "fake-teacher",
        "kind": "teacher",
        "plugin": "fake",
        "distribution": "kdtext-fake",
        "version": "1.2.3",
        "description": "A fake teacher for tests.",
    }


def test_name_clash_names_both_plugins(register_plugin):
    register_plugin(FakePlugin(), "first")
    register_plugin(FakePlugin(), "second")
    with pytest.raises(PluginError, match=r"'fake-teacher' is registered twice: by plugin 'first' and by plugin 'second'"):
        plugins.registrations("register_teachers")


def test_unknown_name_lists_available(register_plugin):
    register_plugin(FakePlugin(), "fake")
    with pytest.raises(UnknownPluginError) as info:
        plugins.get_teacher("fake-teachr")
    assert "unknown teacher 'fake-teachr'; available:" in str(info.value)
    assert "fake-teacher" in str(info.value)


class RaisingPlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        raise RuntimeError("boom")


def test_third_party_hook_that_raises_is_one_warning(register_plugin, capsys, monkeypatch):
    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)
    register_plugin(RaisingPlugin(), "raiser", distribution=("kdtext-raiser", "0.1"))
    register_plugin(FakePlugin(), "fake")
    found = plugins.registrations("register_teachers")
    assert "fake-teacher" in found
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "kdtext: warning: plugin 'raiser' from distribution kdtext-raiser 0.1 failed in register_teachers: RuntimeError: boom; "
        "it is skipped"
    ]


def test_strict_mode_makes_a_failing_hook_an_error(register_plugin, monkeypatch):
    monkeypatch.setenv("KDTEXT_STRICT_PLUGINS", "1")
    register_plugin(RaisingPlugin(), "raiser", distribution=("kdtext-raiser", "0.1"))
    with pytest.raises(PluginError, match="kdtext-raiser"):
        plugins.registrations("register_teachers")


class WrongNamePlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("", FakeTeacher)


def test_invalid_name_is_an_error(register_plugin):
    register_plugin(WrongNamePlugin(), "wrong")
    with pytest.raises(PluginError, match="invalid name"):
        plugins.registrations("register_teachers")


def test_misspelled_hook_fails_check_pending(register_plugin):
    class Misspelled:
        @kdtext.hookimpl
        def register_teacher(self, register):  # missing "s"
            pass

    register_plugin(Misspelled(), "misspelled")
    with pytest.raises(pluggy.PluginValidationError):
        plugins.pm.check_pending()


def test_misspelled_hook_of_an_in_process_plugin_is_an_error_naming_it(register_plugin):
    class Misspelled:
        @kdtext.hookimpl
        def register_student(self, register):  # missing "s"
            pass

    register_plugin(Misspelled(), "misspelled-local")
    with pytest.raises(PluginError, match="plugin 'misspelled-local' implements 'register_student', which is not a kdtext hook"):
        plugins.registrations("register_teachers")


def test_every_hookspec_is_tested_and_documented():
    """Each hook is exercised by some test and described in README's plugin section."""
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]
    assert sorted(hooks) == sorted(plugins.pm.hook.__dict__.keys() & set(hooks))
    readme = (ROOT / "README.md").read_text()
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for hook in hooks:
        assert f"`{hook}" in readme, f"{hook} is not documented in README.md"
        assert re.search(rf"def {hook}\(", tests), f"no test implements {hook}"
        assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"


def test_register_commands_adds_a_command(register_plugin):
    import click

    class CommandPlugin:
        @kdtext.hookimpl
        def register_commands(self, cli):
            @cli.command(name="hello-test")
            def hello():
                click.echo("hello from a plugin")

    group = click.Group(name="test")
    register_plugin(CommandPlugin(), "commands-test")
    plugin_commands.add_commands(group)
    result = CliRunner().invoke(group, ["hello-test"])
    assert result.output == "hello from a plugin\n"


def test_register_taggers_is_collected(register_plugin):
    class FakeTagger(kdtext.Tagger):
        """Tags everything as X."""

        @classmethod
        def languages(cls):
            return ["xx"]

        def __init__(self, lang):
            self.lang = lang

        def tag(self, words):
            return ["X"] * len(words)

    class TaggerPlugin:
        @kdtext.hookimpl
        def register_taggers(self, register):
            register("fake-tagger", FakeTagger)

    register_plugin(TaggerPlugin(), "tagger-test")
    tagger = plugins.get_tagger("fake-tagger")("xx")
    assert tagger.tag(["a", "b"]) == ["X", "X"]


def test_register_augmenters_and_students_are_collected(register_plugin):
    class FakeAugmenter(kdtext.Augmenter):
        """Does nothing."""

        defaults = {"p": 0.5}

        def augment(self, corpus, n, *, seed=0):
            return []

    class FakeStudent(kdtext.Student):
        """Does nothing."""

        def fit(self, train, dev, transfer=None, *, seed=0):
            return {}

        def predict_proba(self, texts):
            return None

        def save(self, path):
            pass

        @classmethod
        def load(cls, path):
            return cls()

    class Both:
        @kdtext.hookimpl
        def register_augmenters(self, register):
            register("fake-aug", FakeAugmenter)

        @kdtext.hookimpl
        def register_students(self, register):
            register("fake-student", FakeStudent)

    register_plugin(Both(), "both")
    assert plugins.get_augmenter("fake-aug")(p=0.25).params == {"p": 0.25}
    assert plugins.get_student("fake-student") is FakeStudent
    with pytest.raises(kdtext.errors.ConfigError, match="has no parameter"):
        plugins.get_augmenter("fake-aug")(q=1)


# -- third-party plugins installed for real, in a separate process ---------------------------


def _install(tmp_path: Path, project: Path) -> Path:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(project)],
        check=True,
    )
    return target


def _kdtext(target: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(target), **env}
    environ.pop("KDTEXT_STRICT_PLUGINS", None)
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "kdtext", *args], capture_output=True, text=True, env=environ)


def _broken_project(tmp_path: Path) -> Path:
    project = tmp_path / "kdtext-broken"
    (project / "kdtext_broken").mkdir(parents=True)
    (project / "kdtext_broken" / "__init__.py").write_text("import a_module_that_does_not_exist\n")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "kdtext-broken"
            version = "0.0.1"
            [project.entry-points.kdtext]
            broken = "kdtext_broken"
            [tool.setuptools]
            packages = ["kdtext_broken"]
            """
        )
    )
    return project


@pytest.mark.slow
def test_example_plugin_package_is_seen_after_pip_install(tmp_path):
    target = _install(tmp_path, ROOT / "plugins" / "kdtext-reverse")
    result = _kdtext(target, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["reverse"]["kind"] == "augmenter"
    assert rows["reverse"]["distribution"] == "kdtext-reverse"
    assert rows["reverse"]["version"] == "0.1.0"


@pytest.mark.slow
def test_broken_plugin_does_not_break_help_plugins_or_uninstall(tmp_path):
    target = _install(tmp_path, _broken_project(tmp_path))
    warning = "kdtext: warning: plugin 'broken' from distribution kdtext-broken 0.0.1 failed to load: ModuleNotFoundError"
    for args in (["--help"], ["plugins"], ["uninstall", "--help"]):
        result = _kdtext(target, *args)
        assert result.returncode == 0, result.stderr
        assert result.stderr.startswith(warning), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    strict = _kdtext(target, "plugins", KDTEXT_STRICT_PLUGINS="1")
    assert strict.returncode == 1
    assert strict.stderr.startswith("Error: plugin 'broken' from distribution kdtext-broken")
    assert "Traceback" not in strict.stderr
    limited = _kdtext(target, "plugins", KDTEXT_LOAD_PLUGINS="")
    assert limited.returncode == 0 and limited.stderr == ""


# -- the example packages of every plugin type, installed for real and used end to end --------


@pytest.mark.slow
def test_example_teacher_and_student_packages_end_to_end(tmp_path):
    """kdtext-lexicon (teacher) and kdtext-sklearn (student), written from the README contract:
    `kdtext run`, then train-student, evaluate and package with the student."""
    from contract_fixtures import BLOCK_KDTEXT, run_args, wheel_requires, write_task

    import shutil

    target = tmp_path / "site"
    for name in ("kdtext-lexicon", "kdtext-sklearn"):
        project = shutil.copytree(ROOT / "plugins" / name, tmp_path / name, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(project)],
            check=True,
        )  # fmt: skip
    files = write_task(tmp_path / "task")
    listed = {row["name"]: row for row in json.loads(_kdtext(target, "plugins", "--json").stdout)}
    assert listed["lexicon"]["kind"] == "teacher" and listed["tfidf-logreg"]["distribution"] == "kdtext-sklearn"

    run = _kdtext(target, *run_args(files, tmp_path / "run", "--teacher", "lexicon", "--student", "tfidf-logreg", "--json"))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    for model in ("baseline", "teacher", "distilled"):
        assert 0.5 <= report["results"][model]["accuracy"] <= 1.0, model
    assert report["training"]["distilled"]["n_transfer"] > 0 and report["curves"]["distilled"]

    out = tmp_path / "student"
    trained = _kdtext(target, "train-student", "--train", str(files["train"]), "--dev", str(files["dev"]),
                      "--soft", str(_soft_file(tmp_path)), "--student", "tfidf-logreg", "-o", str(out), "--param", "C=2")
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("tfidf-logreg: best dev accuracy")
    meta = json.loads((out / "kdtext_student.json").read_text())
    assert meta["plugin"] == {"distribution": "kdtext-sklearn", "version": "0.1.0"} and meta["params"]["C"] == 2
    evaluated = _kdtext(target, "evaluate", str(out), str(files["test"]), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] >= 0.5

    packaged = _kdtext(target, "package", str(out), "-o", str(tmp_path / "dist"), "--build", "wheel")
    assert packaged.returncode == 0, packaged.stderr
    assert "load it with: import kdtext_tfidf_logreg; kdtext_tfidf_logreg.load()" in packaged.stdout
    wheel = next((tmp_path / "dist").glob("*/dist/*.whl"))
    # the student declares runtime_requires: the package needs scikit-learn, not kdtext (issue #22 item 5)
    assert wheel_requires(wheel) == ["numpy", "scikit-learn>=1.2", "joblib"]
    deployed = tmp_path / "deployed"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(deployed), str(wheel)],
                   check=True, capture_output=True)
    code = BLOCK_KDTEXT + (
        "import kdtext_tfidf_logreg as p; s = p.load(); "
        "print(s.labels, s.predict_proba(['a great film']).shape, s.predict(['a great film', 'a dull film']))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(deployed)})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "('neg', 'pos') (1, 2) ['pos', 'neg']"


def _soft_file(tmp_path: Path) -> Path:
    path = tmp_path / "soft.jsonl"
    rows = [{"text": "a fun film", "probs": {"neg": 0.2, "pos": 0.8}}, {"text": "dull plot", "probs": {"neg": 0.9, "pos": 0.1}}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
