"""Built-in commands, added to the CLI through the ``register_commands`` hook, as a third-party
plugin adds its own: this package is one of :data:`kdtext.plugins.DEFAULT_PLUGINS`.

Each module has ``register(cli)``; the hook imports them only when the CLI asks for its
commands, so library code that loads the plugins imports no command.
"""

from __future__ import annotations

import importlib

from ...hookspecs import hookimpl

#: Modules under kdtext.cli.commands, each with ``register(cli)``.
COMMAND_MODULES = ("augment", "teacher", "student", "run", "sweep", "taggers")


@hookimpl
def register_commands(cli):
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(cli)
