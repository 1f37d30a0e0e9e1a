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
    :class:`kdtext.Teacher`, whose docstring is the whole contract: ``defaults``,
    ``from_config``/``is_saved`` (how ``kdtext run`` builds or loads it), ``fit``,
    ``predict_proba``, ``save``/``load`` and the optional capabilities, each with its
    default on the base class: ``label`` (a batch labeller with a cache), ``input_ids``
    (a synthetic set's input ids, without tokenizing), ``vocabulary`` and
    ``word_vectors`` (the distilled student's word vectors), ``device`` (where it
    computes; a Ray worker gets a GPU unless ``"cpu"``), ``trainable``... Names are
    global: registering a name that another plugin already registered is an error
    naming both plugins.
    """


@hookspec
def register_augmenters(register: Register) -> None:
    """Register augmenter factories.

    Call ``register(name, cls)`` once per augmenter, where ``cls`` is a subclass of
    :class:`kdtext.Augmenter` (its docstring is the contract); ``cls(**params)`` builds
    one with its parameters, named in ``defaults``.
    """


@hookspec
def register_students(register: Register) -> None:
    """Register student factories.

    Call ``register(name, cls)`` once per student, where ``cls`` is a subclass of
    :class:`kdtext.Student`, whose docstring is the whole contract: ``cls(**params)``
    builds an untrained student, ``fit`` returns a :class:`kdtext.FitResult`, ``save``
    writes the model (kdtext adds ``kdtext_student.json``) and ``cls.load(path)`` reads it.
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
