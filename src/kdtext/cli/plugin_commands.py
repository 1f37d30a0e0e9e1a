"""The commands plugins add to ``kdtext``, cached so that ``--help`` never imports a plugin it already knows.

Which commands each third-party plugin adds is cached per Python environment,
distribution, version and entry point (and, for an editable install, the sizes and times
of its source files) in ``plugin-commands.json`` under :func:`kdtext.plugins.cache_dir`; a cached command
is a :class:`LazyCommand` that imports its plugin only when it runs.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

import click

from .. import plugins
from ..errors import KdtextError
from ..io import read_json, write_json


COMMAND_CACHE = "plugin-commands.json"
_COMMAND_CACHE_FORMAT = 2


def environment_key() -> str:
    """The Python environment the cache entries belong to: its prefix and interpreter version.

    Two virtual environments can hold one distribution and version with different code
    (an editable install in one, a wheel in the other), so neither reads the other's entries.
    """
    return f"{os.path.realpath(sys.prefix)} python{sys.version_info[0]}.{sys.version_info[1]}"


def _editable_stamp(ep: Any) -> str | None:
    """For an editable install, a hash of its source files' names, sizes and modification times.

    An editable plugin's code changes without its version changing; the stamp makes such
    a change a new cache key. None for an ordinary install (its version says it all).
    """
    kind, url = plugins.install_origin(ep.dist)
    if kind != "editable":
        return None
    digest = hashlib.sha256(str(url).encode())
    for path in plugins.source_files(ep.module):
        try:
            st = os.stat(path)
        except OSError:
            continue
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _cache_key(ep: Any, dist: str, version: str) -> str:
    key = f"{dist}=={version}:{ep.name}={ep.value}"
    stamp = _editable_stamp(ep)
    return f"{key}@editable:{stamp}" if stamp else key


def _read_cache_file() -> dict[str, Any]:
    try:
        data = read_json(plugins.cache_dir() / COMMAND_CACHE)
    except (OSError, KdtextError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _COMMAND_CACHE_FORMAT or not isinstance(data.get("environments"), dict):
        return {}
    return data["environments"]


def _read_command_cache() -> dict[str, Any]:
    """This environment's entries: cache key -> the commands that plugin adds."""
    entries = _read_cache_file().get(environment_key())
    return entries if isinstance(entries, dict) else {}


def _write_command_cache(entries: dict[str, Any]) -> None:
    """Best effort: a read-only home or a full disk only costs speed."""
    environments = _read_cache_file()
    environments[environment_key()] = entries
    try:
        write_json(plugins.cache_dir() / COMMAND_CACHE, {"format": _COMMAND_CACHE_FORMAT, "environments": environments})
    except (OSError, KdtextError):
        pass


def _describe_commands(group: Any, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        cmd = group.commands[name]
        out.append({"name": name, "help": cmd.help, "short_help": cmd.short_help, "hidden": bool(cmd.hidden)})
    return out


def _commands_of(plugin_name: str, cli: Any) -> list[str] | None:
    """Call one plugin's ``register_commands`` on ``cli``; the names it added (None if it failed)."""
    plugin = plugins.pm.get_plugin(plugin_name)
    impls = [impl for impl in plugins.pm.hook.register_commands.get_hookimpls() if impl.plugin is plugin]
    before = set(cli.commands)
    for impl in impls:
        if not _register_commands(impl, cli):
            for name in set(cli.commands) - before:  # a skipped plugin leaves nothing behind
                del cli.commands[name]
            return None
    return [name for name in cli.commands if name not in before]


def _register_commands(impl: Any, cli: Any) -> bool:
    """Call one ``register_commands`` implementation; a third-party failure is a warning (False)."""
    try:
        returned = impl.function(cli=cli)
    except Exception as exc:
        if impl.plugin_name not in plugins._distributions:
            raise
        plugins._plugin_failed(impl.plugin_name, f"failed in register_commands: {plugins._describe(exc)}", exc)
        return False
    if returned is not None:
        plugins._plugin_failed(
            impl.plugin_name,
            f"returned {type(returned).__name__} from register_commands; it should add commands to cli and return nothing",
        )
        return False
    return True


def add_commands(cli: Any) -> None:
    """Add every plugin's commands to ``cli``; a third-party failure is a warning.

    Built-in plugins (and plugins registered in-process) are called directly. A
    third-party plugin whose commands are in the cache is not imported: its commands
    are added as :class:`LazyCommand` placeholders. Others are imported once and their
    commands recorded in the cache.
    """
    plugins.load_builtins()
    for impl in plugins.pm.hook.register_commands.get_hookimpls():
        if plugins.pm.get_plugin(impl.plugin_name) is not None:  # not skipped by an earlier failure
            _commands_of_impl(impl, cli)
    cache = _read_command_cache()
    changed = False
    for ep, dist, version in plugins._entry_points():
        if plugins.pm.get_plugin(ep.name) is not None:
            continue  # already registered: its commands were added above
        key = _cache_key(ep, dist, version)
        entry = cache.get(key)
        if isinstance(entry, list) and not plugins._loaded:
            for spec in entry:
                if isinstance(spec, dict) and isinstance(spec.get("name"), str) and spec["name"] not in cli.commands:
                    cli.add_command(LazyCommand(spec, ep, dist, version))
            continue
        if not plugins._load_entry_point(ep, dist, version):
            continue
        names = _commands_of(ep.name, cli)
        if names is not None:
            cache[key] = _describe_commands(cli, names)
            changed = True
    if changed:
        _write_command_cache(cache)


def _commands_of_impl(impl: Any, cli: Any) -> None:
    before = set(cli.commands)
    if not _register_commands(impl, cli):
        for name in set(cli.commands) - before:
            del cli.commands[name]


def _remember_commands(ep: Any, dist: str, version: str, group: Any) -> None:
    cache = _read_command_cache()
    cache[_cache_key(ep, dist, version)] = _describe_commands(group, list(group.commands))
    _write_command_cache(cache)


class LazyCommand(click.Command):
    """A plugin command known from the cache; the plugin is imported only when the command runs."""

    def __init__(self, spec: dict[str, Any], ep: Any, dist: str, version: str):
        super().__init__(spec["name"], help=spec.get("help"), short_help=spec.get("short_help"), hidden=bool(spec.get("hidden")))
        self._ep, self._dist, self._version = ep, dist, version
        self._real: click.Command | None = None

    def resolve(self) -> click.Command:
        """Import the plugin and return its real command (recording its commands afresh)."""
        if self._real is not None:
            return self._real
        if not plugins._load_entry_point(self._ep, self._dist, self._version):
            raise click.ClickException(f"the command {self.name!r} comes from plugin {self._ep.name!r}, which failed to load")
        scratch = click.Group(name="kdtext")
        if _commands_of(self._ep.name, scratch) is None:
            raise click.ClickException(f"plugin {self._ep.name!r} failed to add its commands")
        _remember_commands(self._ep, self._dist, self._version, scratch)
        if self.name not in scratch.commands:
            raise click.ClickException(
                f"plugin {self._ep.name!r} ({self._dist} {self._version}) no longer provides the command {self.name!r}"
            )
        self._real = scratch.commands[self.name]
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> click.Context:
        return self.resolve().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.resolve().invoke(ctx)

    def to_info_dict(self, ctx: click.Context) -> dict[str, Any]:
        return self.resolve().to_info_dict(ctx)
