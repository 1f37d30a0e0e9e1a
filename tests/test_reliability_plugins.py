"""Half-broken plugins: bad registrations, hooks that raise or return things, clashes, slow imports.

A third-party plugin that misbehaves costs one warning line naming its distribution
(an error under ``KDTEXT_STRICT_PLUGINS=1``); a slow plugin does not slow ``kdtext --help``
once its commands are cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import kdtext
from kdtext import plugins
from kdtext.cli import cli
from kdtext.errors import PluginError


class GoodTeacher(kdtext.Teacher):
    """A teacher that is fine."""

    def fit(self, train, dev=None):
        return {}

    def predict_proba(self, texts):
        raise NotImplementedError

    def save(self, path):
        pass

    @classmethod
    def load(cls, path):
        return cls()


class NotATeacher:
    """Has the methods, but is not a kdtext.Teacher."""


def make_plugin(hook_body):
    class Plugin:
        @kdtext.hookimpl
        def register_teachers(self, register):
            return hook_body(register)

    return Plugin()


BAD_REGISTRATIONS = [
    ("instance", lambda register: register("inst", GoodTeacher()), "not a class"),
    ("function", lambda register: register("func", lambda: GoodTeacher()), "not a class"),
    ("string", lambda register: register("str", "GoodTeacher"), "not a class"),
    ("wrong base", lambda register: register("wrong", NotATeacher), "not a subclass of kdtext.Teacher"),
    ("student as teacher", lambda register: register("stud", _student_class()), "not a subclass of kdtext.Teacher"),
    ("returns a list", lambda register: [GoodTeacher], "returned list from register_teachers"),
]


def _student_class():
    from kdtext.student.spacy_student import SpacyStudent

    return SpacyStudent


@pytest.mark.parametrize("name, body, message", BAD_REGISTRATIONS, ids=[c[0] for c in BAD_REGISTRATIONS])
def test_bad_registration_by_a_third_party_plugin_is_one_warning(register_plugin, capsys, monkeypatch, name, body, message):
    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)
    register_plugin(make_plugin(body), "bad", distribution=("kdtext-bad", "0.3"))
    register_plugin(make_plugin(lambda register: register("good-teacher", GoodTeacher)), "good")
    found = plugins.registrations("register_teachers")
    assert found["good-teacher"].factory is GoodTeacher
    assert not {"inst", "func", "str", "wrong", "stud"} & set(found)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("kdtext: warning: plugin 'bad' from distribution kdtext-bad 0.3 ") and message in err[0], err


@pytest.mark.parametrize("name, body, message", BAD_REGISTRATIONS, ids=[c[0] for c in BAD_REGISTRATIONS])
def test_bad_registration_is_an_error_in_strict_mode_and_for_in_process_plugins(register_plugin, monkeypatch, name, body, message):
    register_plugin(make_plugin(body), "bad-local")
    with pytest.raises(PluginError, match=message):
        plugins.registrations("register_teachers")
    plugins.pm.unregister(name="bad-local")
    monkeypatch.setenv("KDTEXT_STRICT_PLUGINS", "1")
    register_plugin(make_plugin(body), "bad-strict", distribution=("kdtext-bad", "0.3"))
    with pytest.raises(PluginError, match="kdtext-bad 0.3"):
        plugins.registrations("register_teachers")


def test_bad_plugin_via_the_cli_is_a_warning_then_a_one_line_error_in_strict_mode(register_plugin, monkeypatch):
    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)
    register_plugin(make_plugin(lambda register: register("wrong", NotATeacher)), "bad", distribution=("kdtext-bad", "0.3"))
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0
    assert "kdtext: warning: plugin 'bad' from distribution kdtext-bad 0.3 registered teacher 'wrong'" in result.output
    monkeypatch.setenv("KDTEXT_STRICT_PLUGINS", "1")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Error: plugin 'bad'" in result.output


def test_a_hook_that_raises_via_the_cli(register_plugin, monkeypatch):
    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)

    def boom(register):
        raise ValueError("broken\nsecond line of the message")

    register_plugin(make_plugin(boom), "raiser", distribution=("kdtext-raiser", "2.0"))
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "plugin 'raiser' from distribution kdtext-raiser 2.0 failed in register_teachers: ValueError: broken\n" in result.output
    assert "second line" not in result.output


def test_two_plugins_registering_one_name_fail_loudly_via_the_cli(register_plugin):
    register_plugin(make_plugin(lambda register: register("same", GoodTeacher)), "first", distribution=("kdtext-a", "1"))
    register_plugin(make_plugin(lambda register: register("same", GoodTeacher)), "second", distribution=("kdtext-b", "1"))
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "teacher name 'same' is registered twice: by plugin 'first' and by plugin 'second'" in result.output


def test_command_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KDTEXT_CACHE_DIR", str(tmp_path / "explicit"))
    assert plugins.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("KDTEXT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert plugins.cache_dir() == tmp_path / "xdg" / "kdtext"


# -- real installed plugins, in a subprocess --------------------------------------------------

SLOW_PLUGIN = '''
"""A plugin whose import takes {sleep} seconds (a heavy library imported at module level)."""
import time

import click

import kdtext

time.sleep({sleep})


class SlowTeacher(kdtext.Teacher):
    """A teacher from a slow plugin."""

    def fit(self, train, dev=None):
        return {{}}

    def predict_proba(self, texts):
        raise NotImplementedError

    def save(self, path):
        pass

    @classmethod
    def load(cls, path):
        return cls()


@kdtext.hookimpl
def register_teachers(register):
    register("slow-teacher", SlowTeacher)


@kdtext.hookimpl
def register_commands(cli):
    @cli.command(name="slow-hello")
    @click.argument("who", default="world")
    def slow_hello(who):
        """Say hello from the slow plugin."""
        click.echo(f"hello {{who}} from the slow plugin")
'''

SLEEP = 5


def _install_slow_plugin(tmp_path: Path) -> Path:
    project = tmp_path / "kdtext-slow"
    (project / "kdtext_slow").mkdir(parents=True)
    (project / "kdtext_slow" / "__init__.py").write_text(SLOW_PLUGIN.format(sleep=SLEEP))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "kdtext-slow"
            version = "1.0.0"
            [project.entry-points.kdtext]
            slow = "kdtext_slow"
            [tool.setuptools]
            packages = ["kdtext_slow"]
            """
        )
    )
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(project)],
        check=True,
        capture_output=True,
    )
    return target


def _timed_kdtext(target: Path, cache: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(target), "KDTEXT_CACHE_DIR": str(cache)}
    env.pop("KDTEXT_STRICT_PLUGINS", None)
    env.pop("KDTEXT_LOAD_PLUGINS", None)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "kdtext", *args], capture_output=True, text=True, env=env)
    return time.perf_counter() - start, result


@pytest.mark.slow
def test_slow_plugin_does_not_slow_help_once_its_commands_are_cached(tmp_path):
    target = _install_slow_plugin(tmp_path)
    cache = tmp_path / "cache"
    first, result = _timed_kdtext(target, cache, "--help")  # imports the plugin once, records its commands
    assert result.returncode == 0, result.stderr
    assert "slow-hello" in result.stdout and first >= SLEEP
    entries = json.loads((cache / plugins.COMMAND_CACHE).read_text())["plugins"]
    assert [c["name"] for c in entries["kdtext-slow==1.0.0:slow=kdtext_slow"]] == ["slow-hello"]

    timings = []
    for _ in range(3):
        seconds, result = _timed_kdtext(target, cache, "--help")
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert "slow-hello" in result.stdout and "Say hello from the slow plugin" in result.stdout
        timings.append(seconds)
    # the import sleeps SLEEP seconds: under one second proves it did not run
    assert min(timings) < 1.0, timings
    seconds, result = _timed_kdtext(target, cache, "augment", "--help")
    assert result.returncode == 0 and seconds < SLEEP, (seconds, result.stderr)

    # the cached command imports its plugin only when it runs, and then works
    seconds, result = _timed_kdtext(target, cache, "slow-hello", "you")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello you from the slow plugin\n" and seconds >= SLEEP
    seconds, result = _timed_kdtext(target, cache, "slow-hello", "--help")
    assert result.returncode == 0 and "WHO" in result.stdout

    # registries load every plugin: the slow teacher is there
    _, result = _timed_kdtext(target, cache, "plugins", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["slow-teacher"]["distribution"] == "kdtext-slow"


@pytest.mark.slow
def test_stale_or_corrupt_command_cache_is_harmless(tmp_path):
    target = _install_slow_plugin(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / plugins.COMMAND_CACHE).write_text("{not json")
    _, result = _timed_kdtext(target, cache, "--help")
    assert result.returncode == 0 and "slow-hello" in result.stdout
    # a cache that names a command the plugin no longer has: a clear error, and the cache is repaired
    data = json.loads((cache / plugins.COMMAND_CACHE).read_text())
    data["plugins"]["kdtext-slow==1.0.0:slow=kdtext_slow"].append({"name": "gone", "help": "Removed.", "short_help": None})
    (cache / plugins.COMMAND_CACHE).write_text(json.dumps(data))
    _, result = _timed_kdtext(target, cache, "gone")
    assert result.returncode == 1 and "no longer provides the command 'gone'" in result.stderr
    assert "Traceback" not in result.stderr
    _, result = _timed_kdtext(target, cache, "--help")
    assert "gone" not in result.stdout
