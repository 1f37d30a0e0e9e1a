"""Built-in commands, added to the CLI through the ``register_commands`` hook.

Each module has ``register(cli)``; :mod:`kdtext.default_plugins.commands` calls them.
"""
