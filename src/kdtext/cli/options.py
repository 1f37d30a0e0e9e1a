"""Click options made from :func:`kdtext.pipeline.config.setting` declarations: one source per choice.

``kdtext run`` has one option per :class:`~kdtext.pipeline.config.RunConfig` field; ``kdtext
label``, ``kdtext augment`` and ``kdtext train-teacher`` take the same settings (``--device``,
``--backend``, ``--engine``...) through :func:`setting_option`, so a choice, its help and its
check are written once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import click


def _field(name: str) -> Any:
    from ..pipeline.config import RunConfig

    fields = {field.name: field for field in dataclasses.fields(RunConfig)}
    return fields[name]


def option_of(field: Any, **overrides: Any) -> Callable[[Any], Any]:
    """The Click option of one :class:`~kdtext.pipeline.config.RunConfig` field; ``overrides`` are
    Click keyword arguments that replace what the field gives (such as ``default=None``)."""
    meta = field.metadata
    decls = [meta.get("flag") or "--" + field.name.replace("_", "-"), field.name]
    kwargs: dict[str, Any] = {"help": meta.get("help") or None}
    if meta.get("params"):
        kwargs.update(multiple=True, metavar=meta.get("metavar", "NAME=VALUE"))
    elif meta.get("multiple"):
        kwargs.update(multiple=True)
    else:
        default = field.default
        if default is not None:
            kwargs.update(default=default, show_default=True)
        if meta.get("choices"):
            kwargs["type"] = click.Choice(list(meta["choices"]))
        elif "min" in meta:
            kwargs["type"] = click.IntRange(min=meta["min"])
        elif meta.get("type") == "path":
            kwargs["type"] = click.Path(dir_okay=False)
        elif meta.get("type") is int:
            kwargs["type"] = int
    kwargs.update(overrides)
    if kwargs.get("default") is None:
        kwargs.pop("show_default", None)
    return click.option(*decls, **kwargs)


def setting_option(name: str, **overrides: Any) -> Callable[[Any], Any]:
    """The option of the ``kdtext run`` setting ``name``, for another command (see :func:`option_of`)."""
    return option_of(_field(name), **overrides)


def run_config_options(command: Any) -> Any:
    """Decorate ``command`` with one option per :class:`~kdtext.pipeline.config.RunConfig` field, in field order."""
    from ..pipeline.config import RunConfig

    for field in reversed(dataclasses.fields(RunConfig)):
        command = option_of(field)(command)
    return command
