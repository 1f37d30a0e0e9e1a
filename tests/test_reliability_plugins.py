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
from pathlib import Path

import pytest
from click.testing import CliRunner

import kdtext
from kdtext import plugins
from kdtext.cli import plugin_commands
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
    ("empty name", lambda register: register("", GoodTeacher), "registered a teacher with an invalid name: ''"),
    ("raises PluginError", lambda register: (_ for _ in ()).throw(PluginError("its own")), "its own"),
]


def _student_class():
    from kdtext.default_plugins.spacy.student import SpacyStudent

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
    assert plugins.pm.get_plugin("bad") is None  # skipped from then on: one warning, however often it is asked
    monkeypatch.setenv("KDTEXT_STRICT_PLUGINS", "1")
    register_plugin(make_plugin(lambda register: register("wrong", NotATeacher)), "bad", distribution=("kdtext-bad", "0.3"))
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Error: plugin 'bad'" in result.output


def test_a_hook_that_raises_via_the_cli(register_plugin, monkeypatch):
    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)

    def boom(register):
        raise ValueError("broken\nsecond line of the message")

    register_plugin(make_plugin(boom), "raiser", distribution=("kdtext-raiser", "2.0"))
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "plugin 'raiser' from distribution kdtext-raiser 2.0 failed in register_teachers: ValueError: broken; it is skipped\n" in result.output
    assert "second line" not in result.output


def test_two_third_party_plugins_on_one_name_both_named_the_name_unavailable_the_rest_works(register_plugin, monkeypatch):
    """Issue #21 item 3 (this was exit 1 for every command, naming entry points, before)."""
    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)
    register_plugin(make_plugin(lambda register: register("same", GoodTeacher)), "first", distribution=("kdtext-a", "1"))
    register_plugin(make_plugin(lambda register: (register("same", GoodTeacher), register("own", GoodTeacher))[-1]), "second",
                    distribution=("kdtext-b", "2"))  # fmt: skip
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    warning = "kdtext: warning: teacher name 'same' is registered by two plugins, plugin 'first' from distribution kdtext-a 1 " \
        "and plugin 'second' from distribution kdtext-b 2: neither is used until one is uninstalled"
    assert result.output.count("warning") == 1 and warning in result.output
    rows, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("["):])  # the warning is on stderr
    names = {row["name"] for row in rows}
    assert "own" in names and "same" not in names and "bert" in names
    with pytest.raises(PluginError, match="teacher 'same' is unavailable: plugin 'first' from distribution kdtext-a 1 and"):
        plugins.get_teacher("same")
    assert plugins.get_teacher("own") is GoodTeacher
    monkeypatch.setenv("KDTEXT_STRICT_PLUGINS", "1")  # CI: an error
    with pytest.raises(PluginError, match="registered by two plugins"):
        plugins.registrations("register_teachers")


def test_a_third_party_plugin_reusing_a_built_in_name_is_skipped_and_nothing_else_breaks(register_plugin, monkeypatch, tmp_path):
    """Issue #21 item 3: a plugin registering `spacy-fast` broke `kdtext plugins`, `run` and `train-student` before."""
    from contract_fixtures import PriorStudent, write_task
    from kdtext.default_plugins.spacy.fast import SpacyFastStudent

    monkeypatch.delenv("KDTEXT_STRICT_PLUGINS", raising=False)

    class Clash:
        @kdtext.hookimpl
        def register_students(self, register):
            register("spacy-fast", PriorStudent)
            register("prior-nb", PriorStudent)

    register_plugin(Clash(), "clash", distribution=("kdtext-clash", "0.1"))
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert result.output.count("warning") == 1
    assert ("kdtext: warning: plugin 'clash' from distribution kdtext-clash 0.1 registers student 'spacy-fast', the name "
            "of kdtext's own student: it is skipped and kdtext's is used (rename it, or kdtext uninstall kdtext-clash)") in result.output
    assert plugins.get_student("spacy-fast") is SpacyFastStudent and plugins.get_student("prior-nb") is PriorStudent
    files = write_task(tmp_path / "task", n_train=20, n_dev=10, n_test=10)
    result = CliRunner().invoke(cli, ["train-student", "--train", str(files["train"]), "--dev", str(files["dev"]),
                                      "--student", "prior-nb", "-o", str(tmp_path / "student")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output  # once per process


def test_command_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KDTEXT_CACHE_DIR", str(tmp_path / "explicit"))
    assert plugins.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("KDTEXT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert plugins.cache_dir() == tmp_path / "xdg" / "kdtext"


# -- real installed plugins, in a subprocess --------------------------------------------------

SLOW_PLUGIN = '''
"""A plugin whose import takes {sleep} seconds (a heavy library imported at module level)."""
import os
import time

import click

import kdtext

time.sleep({sleep})
with open(os.environ["KDTEXT_SLOW_IMPORTS"], "a") as log:  # the test counts imports, not seconds
    log.write("imported\\n")


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

SLEEP = 1


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


def _kdtext(target: Path, cache: Path, *args: str) -> tuple[int, subprocess.CompletedProcess]:
    """Run kdtext with the slow plugin installed; returns how many times the plugin has been imported so far."""
    imports = cache.parent / "imports.log"
    env = {**os.environ, "PYTHONPATH": str(target), "KDTEXT_CACHE_DIR": str(cache), "KDTEXT_SLOW_IMPORTS": str(imports)}
    env.pop("KDTEXT_STRICT_PLUGINS", None)
    env.pop("KDTEXT_LOAD_PLUGINS", None)
    result = subprocess.run([sys.executable, "-m", "kdtext", *args], capture_output=True, text=True, env=env)
    return (len(imports.read_text().splitlines()) if imports.exists() else 0), result


@pytest.mark.slow
def test_slow_plugin_does_not_slow_help_once_its_commands_are_cached(tmp_path):
    # Whether the slow plugin's module ran is counted (it logs each import), not timed: a timing
    # threshold fails on a loaded machine
    target = _install_slow_plugin(tmp_path)
    cache = tmp_path / "cache"
    imports, result = _kdtext(target, cache, "--help")  # imports the plugin once, records its commands
    assert result.returncode == 0, result.stderr
    assert "slow-hello" in result.stdout and imports == 1
    (entries,) = json.loads((cache / plugin_commands.COMMAND_CACHE).read_text())["environments"].values()
    assert [c["name"] for c in entries["kdtext-slow==1.0.0:slow=kdtext_slow"]] == ["slow-hello"]

    for _ in range(3):
        imports, result = _kdtext(target, cache, "--help")
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert "slow-hello" in result.stdout and "Say hello from the slow plugin" in result.stdout
        assert imports == 1  # --help came from the cache: the plugin was not imported again
    imports, result = _kdtext(target, cache, "augment", "--help")
    assert result.returncode == 0 and imports == 1, result.stderr

    # the cached command imports its plugin only when it runs, and then works
    imports, result = _kdtext(target, cache, "slow-hello", "you")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello you from the slow plugin\n" and imports == 2
    _, result = _kdtext(target, cache, "slow-hello", "--help")
    assert result.returncode == 0 and "WHO" in result.stdout

    # registries load every plugin: the slow teacher is there
    _, result = _kdtext(target, cache, "plugins", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["slow-teacher"]["distribution"] == "kdtext-slow"


@pytest.mark.slow
def test_stale_or_corrupt_command_cache_is_harmless(tmp_path):
    target = _install_slow_plugin(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / plugin_commands.COMMAND_CACHE).write_text("{not json")
    _, result = _kdtext(target, cache, "--help")
    assert result.returncode == 0 and "slow-hello" in result.stdout
    # a cache that names a command the plugin no longer has: a clear error, and the cache is repaired
    data = json.loads((cache / plugin_commands.COMMAND_CACHE).read_text())
    (entries,) = data["environments"].values()
    entries["kdtext-slow==1.0.0:slow=kdtext_slow"].append({"name": "gone", "help": "Removed.", "short_help": None})
    (cache / plugin_commands.COMMAND_CACHE).write_text(json.dumps(data))
    _, result = _kdtext(target, cache, "gone")
    assert result.returncode == 1 and "no longer provides the command 'gone'" in result.stderr
    assert "Traceback" not in result.stderr
    _, result = _kdtext(target, cache, "--help")
    assert "gone" not in result.stdout


# -- containment: broken plugins installed for real, each next to a good one -----------------

GOOD_PLUGIN = '''
import click

import kdtext


class GoodAugmenter(kdtext.Augmenter):
    """An augmenter from a plugin that works."""

    def augment(self, corpus, n, *, seed=0):
        raise NotImplementedError


@kdtext.hookimpl
def register_augmenters(register):
    register("good-augmenter", GoodAugmenter)


@kdtext.hookimpl
def register_commands(cli):
    @cli.command(name="good-hello")
    def good_hello():
        """Say hello from the good plugin."""
        click.echo("hello from the good plugin")
'''

#: entry-point name -> (module source, what its one warning line says)
BROKEN_PLUGINS = {
    "misspelled": (
        '''
import kdtext

@kdtext.hookimpl
def register_augmenter(register):  # the hook is register_augmenters
    pass
''',
        "implements 'register_augmenter' (did you mean 'register_augmenters'?), which is not a kdtext hook",
    ),
    "raising": (
        '''
import kdtext

@kdtext.hookimpl
def register_augmenters(register):
    raise ValueError("no synonyms table\\nsecond line")

@kdtext.hookimpl
def register_commands(cli):
    raise ValueError("no commands either")
''',
        "failed in register_augmenters: ValueError: no synonyms table",
    ),
    "returning": (
        '''
import click
import kdtext

@kdtext.hookimpl
def register_commands(cli):
    @cli.command(name="returning-hello")
    def hello():
        """Never shown: the plugin is skipped."""
    return hello
''',
        "returned Command from register_commands; it should add commands to cli and return nothing",
    ),
    "badreg": (
        '''
import kdtext

class Fine(kdtext.Augmenter):
    """Registered fine, skipped with its plugin."""

    def augment(self, corpus, n, *, seed=0):
        raise NotImplementedError

@kdtext.hookimpl
def register_augmenters(register):
    register("badreg-fine", Fine)
    register("badreg-object", object)
    register("badreg-instance", Fine())
''',
        "registered augmenter 'badreg-object' as class builtins.object, which is not a subclass of kdtext.Augmenter "
        "(and 1 more problem(s))",
    ),
}


def _write_project(root: Path, entry_point: str, source: str, version: str = "0.0.1") -> Path:
    module = f"kdtext_{entry_point}"
    project = root / f"kdtext-{entry_point}"
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(source)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "kdtext-{entry_point}"
            version = "{version}"
            [project.entry-points.kdtext]
            {entry_point} = "{module}"
            [tool.setuptools]
            packages = ["{module}"]
            """
        )
    )
    return project


def _pip_install(target: Path, *projects: Path, editable: bool = False) -> Path:
    args = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target)]
    for project in projects:
        args += ["-e", str(project)] if editable else [str(project)]
    subprocess.run(args, check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    """One folder with the good plugin and every broken one installed (one pip call)."""
    root = tmp_path_factory.mktemp("broken-plugins")
    projects = [_write_project(root, "good", GOOD_PLUGIN)]
    projects += [_write_project(root, name, source) for name, (source, _) in BROKEN_PLUGINS.items()]
    return _pip_install(root / "site", *projects)


def _kdtext_with(site: Path, cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(site), "KDTEXT_CACHE_DIR": str(cache)}
    for name in ("KDTEXT_STRICT_PLUGINS", "KDTEXT_LOAD_PLUGINS", "KDTEXT_DEBUG"):
        environ.pop(name, None)
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "kdtext", *args], capture_output=True, text=True, env=environ)


@pytest.mark.slow
@pytest.mark.parametrize("broken", list(BROKEN_PLUGINS))
def test_a_broken_plugin_costs_one_warning_and_every_command_keeps_working(broken_site, tmp_path, broken):
    message = BROKEN_PLUGINS[broken][1]
    warning = f"kdtext: warning: plugin '{broken}' from distribution kdtext-{broken} 0.0.1 {message}; it is skipped"
    only = {"KDTEXT_LOAD_PLUGINS": f"good,{broken}"}
    for args in (["--help"], ["plugins", "--json"], ["good-hello"], ["augment", "--help"], ["uninstall", "--help"]):
        result = _kdtext_with(broken_site, tmp_path / "cache", *args, **only)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr.splitlines() == [warning], (args, result.stderr)
        if args == ["--help"]:
            assert "good-hello" in result.stdout and f"{broken}-hello" not in result.stdout
        if args == ["plugins", "--json"]:
            names = {row["name"] for row in json.loads(result.stdout)}
            assert "good-augmenter" in names and not any(name.startswith(broken) for name in names)
        if args == ["good-hello"]:
            assert result.stdout == "hello from the good plugin\n"
    strict = _kdtext_with(broken_site, tmp_path / "cache", "plugins", KDTEXT_STRICT_PLUGINS="1", **only)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert strict.stderr == f"Error: plugin '{broken}' from distribution kdtext-{broken} 0.0.1 {message}\n"


@pytest.mark.slow
def test_debug_shows_the_traceback_of_a_raising_hook(broken_site, tmp_path):
    only = {"KDTEXT_LOAD_PLUGINS": "good,raising"}
    for args in (["--debug", "--help"], ["--debug", "plugins"]):
        result = _kdtext_with(broken_site, tmp_path / "cache", *args, **only)
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert lines[0].startswith("kdtext: warning: plugin 'raising' from distribution kdtext-raising 0.0.1 failed in")
        assert lines[1] == "Traceback (most recent call last):"
        assert "kdtext_raising" in result.stderr and lines[-2:] == ["ValueError: no synonyms table", "second line"]
    # without --debug: the one line only
    result = _kdtext_with(broken_site, tmp_path / "cache", "plugins", **only)
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_every_broken_plugin_at_once_is_one_line_each(broken_site, tmp_path):
    result = _kdtext_with(broken_site, tmp_path / "cache", "plugins", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(BROKEN_PLUGINS), lines
    for broken in BROKEN_PLUGINS:
        assert sum(f"plugin '{broken}' from distribution kdtext-{broken} 0.0.1 " in line for line in lines) == 1
    assert "good-augmenter" in {row["name"] for row in json.loads(result.stdout)}


# -- the command cache: per environment, and refreshed when an editable plugin changes --------

COMMAND_PLUGIN = '''
import click

import kdtext


@kdtext.hookimpl
def register_commands(cli):
    @cli.command(name="{command}")
    def command():
        """{command} from the plugin."""
        click.echo("{command} ran")
'''


def _another_environment(root: Path) -> Path:
    """A second virtual environment that sees what this one sees; its python.

    Its site-packages runs ``site.addsitedir`` on each of this environment's site folders,
    so their ``.pth`` files (editable installs) work there too. A ``--system-site-packages``
    venv would see the base interpreter's folders only: inside a venv, not this kdtext
    (issue #21 item 9: the README's test command failed in a fresh venv).
    """
    import site

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    folders = [folder for folder in site.getsitepackages() if os.path.isdir(folder)]
    Path(purelib, "_parent_environment.pth").write_text("import site; " + "; ".join(f"site.addsitedir({f!r})" for f in folders) + "\n")
    here = subprocess.run([str(python), "-c", "import kdtext; print(kdtext.__file__)"], capture_output=True, text=True)
    assert here.returncode == 0 and here.stdout.strip() == kdtext.__file__, here.stdout + here.stderr  # the kdtext under test
    return python


@pytest.mark.slow
def test_command_cache_is_kept_per_environment(tmp_path):
    """One distribution and version with different commands in two environments: each sees its own."""
    site_a = _pip_install(tmp_path / "site-a", _write_project(tmp_path / "a", "envplug", COMMAND_PLUGIN.format(command="cmd-in-a")))
    site_b = _pip_install(tmp_path / "site-b", _write_project(tmp_path / "b", "envplug", COMMAND_PLUGIN.format(command="cmd-in-b")))
    other_python = _another_environment(tmp_path / "venv")
    cache = tmp_path / "cache"

    def help_of(python: Path, site: Path) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(site), "KDTEXT_CACHE_DIR": str(cache)}
        for name in ("KDTEXT_STRICT_PLUGINS", "KDTEXT_LOAD_PLUGINS"):
            env.pop(name, None)
        return subprocess.run([str(python), "-m", "kdtext", "--help"], capture_output=True, text=True, env=env)

    first = help_of(Path(sys.executable), site_a)
    assert first.returncode == 0 and "cmd-in-a" in first.stdout, first.stderr
    second = help_of(other_python, site_b)
    assert second.returncode == 0, second.stderr
    assert "cmd-in-b" in second.stdout and "cmd-in-a" not in second.stdout
    again = help_of(Path(sys.executable), site_a)  # both environments' entries are kept
    assert "cmd-in-a" in again.stdout and "cmd-in-b" not in again.stdout
    environments = json.loads((cache / plugin_commands.COMMAND_CACHE).read_text())["environments"]
    assert len(environments) == 2


@pytest.mark.slow
def test_command_cache_follows_an_editable_plugin_whose_version_did_not_change(tmp_path):
    project = _write_project(tmp_path, "editable", COMMAND_PLUGIN.format(command="first-command"))
    site = _pip_install(tmp_path / "site", project, editable=True)
    # an editable install's import hook is a .pth file, which PYTHONPATH folders do not run
    pythonpath = f"{site}{os.pathsep}{project}"
    cache = tmp_path / "cache"
    result = _kdtext_with(Path(pythonpath), cache, "--help")
    assert result.returncode == 0 and "first-command" in result.stdout, result.stderr
    assert (cache / plugin_commands.COMMAND_CACHE).exists()

    source = project / "kdtext_editable" / "__init__.py"
    source.write_text(COMMAND_PLUGIN.format(command="the-renamed-command"))
    result = _kdtext_with(Path(pythonpath), cache, "--help")
    assert result.returncode == 0, result.stderr
    assert "the-renamed-command" in result.stdout and "first-command" not in result.stdout
    result = _kdtext_with(Path(pythonpath), cache, "the-renamed-command")
    assert result.returncode == 0 and result.stdout == "the-renamed-command ran\n", result.stderr
    (entries,) = json.loads((cache / plugin_commands.COMMAND_CACHE).read_text())["environments"].values()
    assert {key.split("@")[0] for key in entries} == {"kdtext-editable==0.0.1:editable=kdtext_editable"}
