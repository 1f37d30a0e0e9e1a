"""Built-in commands, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

import importlib

from ..hookspecs import hookimpl

#: Modules under kdtext.cli.commands, each with ``register(cli)``.
COMMAND_MODULES = ("augment", "teacher", "student", "run", "taggers")


@hookimpl
def register_commands(cli):
    for name in COMMAND_MODULES:
        importlib.import_module(f"kdtext.cli.commands.{name}").register(cli)
