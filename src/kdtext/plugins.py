"""The plugin manager: built-in plugins, third-party entry points, and the registries.

Third-party plugins are distributions with an entry point in the group ``kdtext``.
Each is loaded inside its own try/except, so one broken plugin costs a warning line,
never ``kdtext --help``. Environment variables:

``KDTEXT_STRICT_PLUGINS=1``
    a plugin that fails to load, or raises in a hook, is an error (CI uses this).
``KDTEXT_LOAD_PLUGINS=a,b``
    load only these third-party plugins (entry-point or distribution names);
    an empty value loads none.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownPluginError

ENTRY_POINT_GROUP = "kdtext"

#: Modules of the built-in plugins, registered exactly as third-party ones are.
DEFAULT_PLUGINS = (
    "kdtext.default_plugins.augmenters",
    "kdtext.default_plugins.bert_teacher",
    "kdtext.default_plugins.file_teacher",
    "kdtext.default_plugins.spacy_students",
    "kdtext.default_plugins.taggers",
    "kdtext.default_plugins.commands",
)

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
_loaded = False


def _strict() -> bool:
    return os.environ.get("KDTEXT_STRICT_PLUGINS", "").strip() not in ("", "0", "false", "no")


def warn(message: str) -> None:
    """Report a plugin problem: one line on stderr, or an error in strict mode."""
    if _strict():
        raise PluginError(message)
    print(f"kdtext: warning: {message}", file=sys.stderr)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_plugins() -> None:
    """Register the built-ins, then every installed third-party plugin, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        if pm.get_plugin(module_name) is None:
            pm.register(module, name=module_name)
    wanted = os.environ.get("KDTEXT_LOAD_PLUGINS")
    allowed = None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        version = ep.dist.version if ep.dist is not None else "?"
        if allowed is not None and ep.name not in allowed and dist not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not break kdtext
            warn(f"plugin {ep.name!r} from distribution {dist} {version} failed to load: {_describe(exc)}")
            continue
        _distributions[ep.name] = (dist, version)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook that does not exist: {exc}") from exc


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

    Each plugin is called on its own so that a failure names the plugin. Two plugins
    registering one name is always an error, naming both.
    """
    load_plugins()
    kind = KINDS[hook_name]
    found: dict[str, Registration] = {}
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # in registration order
        plugin_name = impl.plugin_name

        def register(name: str, factory: Any, _plugin: str = plugin_name) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {_plugin!r} registered a {kind} with an invalid name: {name!r}")
            if name in found:
                raise PluginError(
                    f"{kind} name {name!r} is registered twice: by plugin {found[name].plugin!r} "
                    f"and by plugin {_plugin!r}"
                )
            found[name] = Registration(name, kind, factory, _plugin)

        try:
            impl.function(register=register)
        except PluginError:
            raise
        except Exception as exc:
            dist, version = plugin_origin(plugin_name)
            if plugin_name in _distributions:
                warn(f"plugin {plugin_name!r} from distribution {dist} {version} failed in {hook_name}: {_describe(exc)}")
                continue
            raise  # a built-in failing is a bug in kdtext: show it
    return found


def get(kind_hook: str, name: str) -> Registration:
    regs = registrations(kind_hook)
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


def add_commands(cli: Any) -> None:
    """Let every plugin add its commands; a third-party failure is a warning."""
    load_plugins()
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:
            if impl.plugin_name not in _distributions:
                raise
            dist, version = plugin_origin(impl.plugin_name)
            warn(f"plugin {impl.plugin_name!r} from distribution {dist} {version} failed in register_commands: {_describe(exc)}")
