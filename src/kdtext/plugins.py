"""The plugin manager: built-in plugins, third-party entry points, and the registries.

Third-party plugins are distributions with an entry point in the group ``kdtext``.
Each is loaded inside its own try/except, so one broken plugin costs a warning line,
never ``kdtext --help``. Environment variables:

``KDTEXT_STRICT_PLUGINS=1``
    a plugin that fails to load, implements a hook that does not exist, raises in a
    hook, returns something from one or registers something that is not a plugin class
    is an error (CI uses this). Without it, such a plugin is skipped with one warning
    line naming its distribution; ``kdtext --debug`` adds the traceback.
``KDTEXT_LOAD_PLUGINS=a,b``
    load only these third-party plugins (entry-point or distribution names);
    an empty value loads none.
``KDTEXT_CACHE_DIR``
    where the plugin command cache lives (default ``$XDG_CACHE_HOME/kdtext``, else
    ``~/.cache/kdtext``).

Start-up stays fast with slow plugins installed: :mod:`kdtext.cli.plugin_commands` caches
which commands each plugin adds, so ``kdtext --help`` lists a known plugin's commands
without importing it; the plugin is imported when one of its commands runs, or when a
command needs the registries of teachers, augmenters, students or taggers.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownPluginError

ENTRY_POINT_GROUP = "kdtext"

#: Modules of the built-in plugins, registered exactly as third-party ones are.
DEFAULT_PLUGINS = (
    "kdtext.default_plugins.augmenters",
    "kdtext.default_plugins.bert",
    "kdtext.default_plugins.file",
    "kdtext.default_plugins.command",
    "kdtext.default_plugins.spacy",
    "kdtext.default_plugins.taggers",
    "kdtext.cli.commands",
)
DEFAULT_PLUGINS_SET = frozenset(DEFAULT_PLUGINS)

#: hook name -> the kind of thing it registers (as shown by ``kdtext plugins``)
KINDS = {
    "register_teachers": "teacher",
    "register_augmenters": "augmenter",
    "register_students": "student",
    "register_taggers": "tagger",
}

pm = pluggy.PluginManager("kdtext")
pm.add_hookspecs(hookspecs)

#: plugin name -> (distribution name, version) for plugins loaded from entry points
_distributions: dict[str, tuple[str, str]] = {}
#: entry-point names that failed to load (warned about once per process)
_failed: set[str] = set()
_loaded = False
#: set by ``kdtext --debug``: a plugin's failure shows its traceback
_debug = False


def _strict() -> bool:
    return os.environ.get("KDTEXT_STRICT_PLUGINS", "").strip() not in ("", "0", "false", "no")


def set_debug(on: bool = True) -> None:
    """Show the traceback of each plugin failure (``kdtext --debug``)."""
    global _debug
    _debug = on


def debug_enabled() -> bool:
    """The one debug flag: ``kdtext --debug`` (this invocation) or ``KDTEXT_DEBUG=1``. Errors then
    show their traceback instead of one line, plugin failures included."""
    return _debug or os.environ.get("KDTEXT_DEBUG", "") not in ("", "0")


def warn(message: str, exc: BaseException | None = None) -> None:
    """Report a plugin problem: one line on stderr, or an error in strict mode.

    Under ``--debug`` the traceback of ``exc`` (the plugin's exception) follows the line.
    """
    if _strict():
        raise PluginError(message) from exc
    print(f"kdtext: warning: {message}", file=sys.stderr)
    if exc is not None and debug_enabled():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_builtins() -> None:
    """Register the built-in plugins (cheap: they import heavy libraries lazily)."""
    for module_name in DEFAULT_PLUGINS:
        if pm.get_plugin(module_name) is None:
            pm.register(importlib.import_module(module_name), name=module_name)


def _entry_points() -> list[tuple[Any, str, str]]:
    """``(entry point, distribution, version)`` of the third-party plugins to load."""
    wanted = os.environ.get("KDTEXT_LOAD_PLUGINS")
    allowed = None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}
    found = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        version = ep.dist.version if ep.dist is not None else "?"
        if allowed is not None and ep.name not in allowed and dist not in allowed:
            continue
        found.append((ep, dist, version))
    return found


def _load_entry_point(ep: Any, dist: str, version: str) -> bool:
    """Import, register and vet one third-party plugin; a failure is a warning. True if registered.

    A plugin that fails any check is unregistered again, so it costs exactly one warning
    however many of its hooks are broken, and nothing of it is half there.
    """
    if pm.get_plugin(ep.name) is not None:
        return True
    if ep.name in _failed:
        return False
    _distributions[ep.name] = (dist, version)
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
    except Exception as exc:  # a broken plugin must not break kdtext
        _failed.add(ep.name)
        warn(f"plugin {ep.name!r} from distribution {dist} {version} failed to load: {_describe(exc)}", exc)
        return False
    return _vet(ep.name)


def _unknown_hooks(plugin: Any) -> list[str]:
    """Names of the hooks ``plugin`` implements that kdtext does not define (misspelled ones)."""
    return sorted(
        caller.name
        for caller in pm.get_hookcallers(plugin) or []
        if not caller.has_spec() and any(impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls())
    )


def _vet(plugin_name: str) -> bool:
    """Check a newly loaded third-party plugin once: real hook names, and registrations that are valid.

    The ``register_*`` hooks only hand over classes, so calling each once here is cheap
    and finds a broken plugin before any command relies on it. False (after the one
    warning, or an error in strict mode) if the plugin was skipped.
    """
    plugin = pm.get_plugin(plugin_name)
    unknown = _unknown_hooks(plugin)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, _hook_names(), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        known = "" if "did you mean" in hints[-1] else f"; its hooks are {', '.join(_hook_names())}"
        _plugin_failed(plugin_name, f"implements {', '.join(hints)}, which is not a kdtext hook{known}")
        return False
    for hook_name in KINDS:
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.plugin is plugin and _collect(impl, hook_name) is None:
                return False
    return True


def _check_in_process_hooks() -> None:
    """A built-in or in-process plugin with a misspelled hook is a bug where it is registered: an error."""
    for name, plugin in pm.list_name_plugin():
        if name not in _distributions and plugin is not None:
            unknown = _unknown_hooks(plugin)
            if unknown:
                raise PluginError(f"plugin {name!r} implements {', '.join(map(repr, unknown))}, which is not a kdtext hook")


def _hook_names() -> list[str]:
    return sorted(name for name in vars(hookspecs) if name.startswith("register_"))


def load_plugins() -> None:
    """Register the built-ins, then every installed third-party plugin, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    load_builtins()
    for ep, dist, version in _entry_points():
        _load_entry_point(ep, dist, version)


def plugin_origin(plugin_name: str) -> tuple[str, str]:
    """(distribution, version) that provides a registered plugin."""
    if plugin_name in _distributions:
        return _distributions[plugin_name]
    if plugin_name.startswith("kdtext."):
        from . import __version__

        return ("kdtext", __version__)
    return ("unknown", "?")


@dataclass(frozen=True)
class Registration:
    """One named factory that a plugin registered."""

    name: str
    kind: str
    factory: Any
    plugin: str

    @property
    def distribution(self) -> str:
        return plugin_origin(self.plugin)[0]

    @property
    def version(self) -> str:
        return plugin_origin(self.plugin)[1]

    @property
    def description(self) -> str:
        doc = getattr(self.factory, "__doc__", None) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""


def registrations(hook_name: str) -> dict[str, Registration]:
    """Call one ``register_*`` hook on every plugin and collect what they register.

    Each plugin is called on its own so that a failure names the plugin. A name that two
    plugins register: a built-in's name is kept by the built-in and the third-party
    registration skipped; between two third-party plugins the name is unavailable
    (:data:`_clashes`); both after one warning naming the distributions (an error in
    strict mode). Any other clash (a plugin registered in-process) is an error.
    """
    load_plugins()
    _check_in_process_hooks()
    kind = KINDS[hook_name]
    found: dict[str, Registration] = {}
    clashed = _clashes[hook_name] = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():  # in registration order
        for name, factory in _collect(impl, hook_name) or []:
            new, first = Registration(name, kind, factory, impl.plugin_name), found.get(name)
            if name in clashed:
                continue
            if first is None:
                found[name] = new
                continue
            builtin = first if first.plugin in DEFAULT_PLUGINS_SET else new if new.plugin in DEFAULT_PLUGINS_SET else None
            other = new if builtin is first else first
            if first.plugin in _distributions and new.plugin in _distributions:
                del found[name]
                clashed[name] = f"{_who(first)} and {_who(new)}"
                _warn_once(f"{kind} name {name!r} is registered by two plugins, {clashed[name]}: "
                           "neither is used until one is uninstalled (kdtext uninstall DISTRIBUTION)")  # fmt: skip
            elif builtin is not None and other.plugin in _distributions:
                found[name] = builtin
                _warn_once(f"{_who(other)} registers {kind} {name!r}, the name of kdtext's own {kind}: it is "
                           f"skipped and kdtext's is used (rename it, or kdtext uninstall {other.distribution})")  # fmt: skip
            else:
                raise PluginError(f"{kind} name {name!r} is registered twice: by plugin {first.plugin!r} and by plugin {new.plugin!r}")
    return found


#: hook name -> {name: the two plugins that register it}: names two third-party plugins clash on
_clashes: dict[str, dict[str, str]] = {}
_warned: set[str] = set()


def _who(registration: Registration) -> str:
    return f"plugin {registration.plugin!r} from distribution {registration.distribution} {registration.version}"


def _warn_once(message: str) -> None:
    if message not in _warned or _strict():
        _warned.add(message)
        warn(message)


def _collect(impl: Any, hook_name: str) -> list[tuple[str, Any]] | None:
    """What one plugin's ``register_*`` hook registers, checked.

    A third-party plugin that raises, returns something or registers something that is
    not a subclass of the right base class is skipped (None) after one warning; the same
    from a built-in or in-process plugin is an error.
    """
    kind = KINDS[hook_name]
    plugin_name = impl.plugin_name
    collected: list[tuple[str, Any]] = []
    problems: list[str] = []

    def register(name: str, factory: Any) -> None:
        problem = _factory_problem(kind, factory)
        if not isinstance(name, str) or not name:
            problems.append(f"registered a {kind} with an invalid name: {name!r}")
        elif problem:
            problems.append(f"registered {kind} {name!r} as {problem}")
        else:
            collected.append((name, factory))

    try:
        returned = impl.function(register=register)
    except Exception as exc:
        if plugin_name not in _distributions:
            raise  # a built-in failing is a bug in kdtext: show it
        _plugin_failed(plugin_name, f"failed in {hook_name}: {_describe(exc)}", exc)
        return None
    if returned is not None:
        problems.append(
            f"returned {type(returned).__name__} from {hook_name}; it should call register(name, cls) and return nothing"
        )
    if problems:
        _plugin_failed(plugin_name, problems[0] + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""))
        return None
    return collected


#: kind -> the base class every registered factory must subclass
def _base_class(kind: str) -> type:
    from . import base

    return {"teacher": base.Teacher, "augmenter": base.Augmenter, "student": base.Student, "tagger": base.Tagger}[kind]


def _factory_problem(kind: str, factory: Any) -> str | None:
    """Why ``factory`` cannot be a ``kind`` (None if it can)."""
    expected = _base_class(kind)
    if not isinstance(factory, type):
        return f"{type(factory).__name__} {factory!r:.60}, not a class (expected a subclass of kdtext.{expected.__name__})"
    if not issubclass(factory, expected):
        return f"class {factory.__module__}.{factory.__qualname__}, which is not a subclass of kdtext.{expected.__name__}"
    return None


def _plugin_failed(plugin_name: str, what: str, exc: BaseException | None = None) -> None:
    """A plugin misbehaved: a third-party one is skipped from now on, after one warning (an
    error in strict mode); for a built-in or in-process plugin it is an error."""
    if plugin_name in _distributions:
        dist, version = plugin_origin(plugin_name)
        _failed.add(plugin_name)
        pm.unregister(name=plugin_name)
        message = f"plugin {plugin_name!r} from distribution {dist} {version} {what}"
        if _strict():
            raise PluginError(message) from exc
        warn(f"{message}; it is skipped", exc)
    else:
        raise PluginError(f"plugin {plugin_name!r} {what}") from exc


def get(kind_hook: str, name: str) -> Registration:
    regs = registrations(kind_hook)
    if name in _clashes.get(kind_hook, {}):
        raise PluginError(f"{KINDS[kind_hook]} {name!r} is unavailable: {_clashes[kind_hook][name]} register it; uninstall one")
    if name not in regs:
        raise UnknownPluginError(KINDS[kind_hook], name, regs)
    return regs[name]


def get_teacher(name: str) -> Any:
    """The teacher class registered under ``name``."""
    return get("register_teachers", name).factory


def get_augmenter(name: str) -> Any:
    """The augmenter class registered under ``name``."""
    return get("register_augmenters", name).factory


def get_student(name: str) -> Any:
    """The student class registered under ``name``."""
    return get("register_students", name).factory


def get_tagger(name: str) -> Any:
    """The tagger class registered under ``name``."""
    return get("register_taggers", name).factory


def all_registrations() -> list[Registration]:
    out: list[Registration] = []
    for hook_name in KINDS:
        out.extend(registrations(hook_name).values())
    return out


def cache_dir() -> Path:
    """kdtext's per-user cache folder (``KDTEXT_CACHE_DIR``, else ``$XDG_CACHE_HOME/kdtext``)."""
    explicit = os.environ.get("KDTEXT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "kdtext"


def install_origin(dist: Any) -> tuple[str | None, str | None]:
    """``(kind, url)`` of how a distribution was installed: kind ``"editable"`` (``pip install -e``),
    ``"local"`` (from a local folder or file) or None (from an index, or unknown), from its
    ``direct_url.json`` (PEP 610)."""
    try:
        info = json.loads(dist.read_text("direct_url.json") or "null") if dist is not None else None
    except (OSError, ValueError):
        return None, None
    if not isinstance(info, dict):
        return None, None
    url = str(info.get("url", ""))
    if (info.get("dir_info") or {}).get("editable"):
        return "editable", url
    return ("local" if url.startswith("file:") else None), url


def source_files(module: str, suffixes: tuple[str, ...] = (".py",)) -> list[str]:
    """The files ending in ``suffixes`` of the top-level package (or module) of ``module``,
    sorted, found without importing it (hidden folders and ``__pycache__`` left out)."""
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return []
    files: list[str] = []
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            for folder, subfolders, names in os.walk(root):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d != "__pycache__")
                files.extend(os.path.join(folder, name) for name in names if name.endswith(suffixes))
    elif spec is not None and spec.origin and os.path.isfile(spec.origin):
        files.append(spec.origin)
    return sorted(files)
