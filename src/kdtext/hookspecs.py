"""The hooks a kdtext plugin can implement.

Every hook has the ``register_*(register)`` shape: kdtext owns the registry and a
plugin hands it factories by name. Built-in teachers, augmenters and students use
exactly these hooks too (see ``kdtext.default_plugins``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import click

hookspec = HookspecMarker("kdtext")
hookimpl = HookimplMarker("kdtext")

#: ``register(name, factory)``: the callable every ``register_*`` hook receives.
Register = Callable[[str, Any], None]


@hookspec
def register_teachers(register: Register) -> None:
    """Register teacher factories.

    Call ``register(name, cls)`` once per teacher, where ``cls`` is a subclass of
    :class:`kdtext.Teacher`. ``cls(**params)`` builds an untrained teacher and
    ``cls.load(path)`` a saved one. Names are global: registering a name that another
    plugin already registered is an error naming both plugins.
    """


@hookspec
def register_augmenters(register: Register) -> None:
    """Register augmenter factories.

    Call ``register(name, cls)`` once per augmenter, where ``cls`` is a subclass of
    :class:`kdtext.Augmenter`; ``cls(**params)`` builds one with its parameters.
    """


@hookspec
def register_students(register: Register) -> None:
    """Register student factories.

    Call ``register(name, cls)`` once per student, where ``cls`` is a subclass of
    :class:`kdtext.Student`. ``cls(**params)`` builds an untrained student and
    ``cls.load(path)`` a saved one.
    """


@hookspec
def register_taggers(register: Register) -> None:
    """Register part-of-speech tagger factories (used by same-POS word replacement).

    Call ``register(name, cls)`` once per tagger, where ``cls`` is a subclass of
    :class:`kdtext.Tagger`. ``cls.languages()`` says which languages it can tag in
    this environment; ``cls(lang)`` builds one.
    """


@hookspec
def register_commands(cli: "click.Group") -> None:
    """Add commands to the ``kdtext`` command-line tool.

    ``cli`` is the top-level Click group: decorate functions with ``@cli.command()``.
    """
