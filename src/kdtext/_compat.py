"""The import paths of kdtext 0.1 that moved, kept for one release: each warns and gives the new home.

kdtext's modules now live in folders by concept (``augment/``, ``labelling/``, ``students/``,
``pipeline/``, ``cli/``, ``default_plugins/``). Code that imports an old path, such as
``from kdtext.corpus import TokenizedCorpus`` or ``import kdtext.teacher.bert``, keeps working:
the old name gives the module at its new home (the same module object, so the same classes
and functions), with a :class:`DeprecationWarning` that names the new path. A module that was
split in several gives each of its old names from the module that has it now. The old paths
go in the next release.

:func:`install` puts one finder at the front of ``sys.meta_path`` (``kdtext/__init__.py``
calls it); it answers only for the names below.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from typing import Any, Callable

#: Old module -> its new home (the same module object).
MOVED = {
    "kdtext.synthetic": "kdtext.augment.synthetic",
    "kdtext.synthetic_jsonl": "kdtext.augment.jsonl",
    "kdtext.rounds": "kdtext.augment.rounds",
    "kdtext.kernels": "kdtext.augment.kernels",
    "kdtext.tagging": "kdtext.augment.tagging",
    "kdtext.languages": "kdtext.augment.tagging",
    "kdtext.teacher_ids": "kdtext.default_plugins.bert.teacher_ids",
    "kdtext.soft_labels": "kdtext.labelling",
    "kdtext.engine": "kdtext.labelling.engine",
    "kdtext.engine.files": "kdtext.labelling.engine.files",
    "kdtext.engine.support": "kdtext.labelling.engine.support",
    "kdtext.engine.ray_engine": "kdtext.labelling.engine.ray_engine",
    "kdtext.teacher.cache": "kdtext.labelling.cache",
    "kdtext.teacher.validate": "kdtext.labelling.validate",
    "kdtext.teacher.device": "kdtext.default_plugins.bert.device",
    "kdtext.teacher.inference": "kdtext.default_plugins.bert.inference",
    "kdtext.teacher.training": "kdtext.default_plugins.bert.training",
    "kdtext.teacher.ort": "kdtext.default_plugins.bert.ort",
    "kdtext.teacher.command": "kdtext.default_plugins.command",
    "kdtext.teacher.file": "kdtext.default_plugins.file",
    "kdtext.student": "kdtext.students",
    "kdtext.student.metadata": "kdtext.students.metadata",
    "kdtext.student.packaging": "kdtext.students.packaging",
    "kdtext.student.spacy_student": "kdtext.default_plugins.spacy.student",
    "kdtext.student.spacy_fast": "kdtext.default_plugins.spacy.fast",
    "kdtext.student.training": "kdtext.default_plugins.spacy.training",
    "kdtext.reference": "kdtext.students.reference",
    "kdtext.spacy_soft": "kdtext.default_plugins.spacy.soft_textcat",
    "kdtext.commands": "kdtext.cli.commands",
    "kdtext.commands.augment": "kdtext.cli.commands.augment",
    "kdtext.commands.run": "kdtext.cli.commands.run",
    "kdtext.commands.student": "kdtext.cli.commands.student",
    "kdtext.commands.teacher": "kdtext.cli.commands.teacher",
    "kdtext.commands.languages": "kdtext.cli.commands.taggers",
    "kdtext.default_plugins.bert_teacher": "kdtext.default_plugins.bert",
    "kdtext.default_plugins.command_teacher": "kdtext.default_plugins.command",
    "kdtext.default_plugins.file_teacher": "kdtext.default_plugins.file",
    "kdtext.default_plugins.spacy_students": "kdtext.default_plugins.spacy",
    "kdtext.default_plugins.commands": "kdtext.cli.commands",
}

#: Old module that was split -> the modules that hold its names now, searched in order.
SPLIT = {
    "kdtext.corpus": ("kdtext.augment.corpus", "kdtext.augment.builder", "kdtext.augment.tokenizer", "kdtext.augment.pos_table"),
    "kdtext.teacher": (
        "kdtext.default_plugins.bert.teacher",
        "kdtext.default_plugins.file",
        "kdtext.labelling.cache",
        "kdtext.labelling",
        "kdtext.labelling.validate",
    ),
    "kdtext.teacher.bert": ("kdtext.default_plugins.bert.teacher", "kdtext.default_plugins.bert.model_dir"),
    "kdtext.teacher.labelling": ("kdtext.default_plugins.bert.labelling", "kdtext.labelling"),
    "kdtext.vectors": ("kdtext.students.vectors", "kdtext.default_plugins.bert.vectors"),
}

#: Names that left a module which still exists -> the module that holds them now.
MOVED_NAMES = {
    "kdtext.augment": dict.fromkeys(
        ("Agreement", "TeacherIdEmitter", "TokenIds", "emission_problem", "emitter_for"), "kdtext.default_plugins.bert.teacher_ids"
    ),
    "kdtext.cli": {"parse_params": "kdtext.params"},
    "kdtext.default_plugins.taggers": dict.fromkeys(("PREFERENCE", "available_taggers", "best_tagger", "tagger_for"), "kdtext.augment.tagging"),
}

#: Old names that were packages (their old submodules are in the tables above).
PACKAGES = {"kdtext.teacher", "kdtext.student", "kdtext.engine", "kdtext.commands"}


def new_home(old: str) -> str:
    """Where the old module ``old`` lives now, as the warning says it."""
    return MOVED[old] if old in MOVED else " or ".join(SPLIT[old])


def _warn(old: str) -> None:
    """The DeprecationWarning, attributed to the code that imported ``old`` (not to importlib)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and (frame.f_code.co_filename == __file__ or "importlib" in frame.f_code.co_filename):
        if "_bootstrap" not in frame.f_code.co_filename:  # warnings skips importlib's bootstrap frames itself
            level += 1
        frame = frame.f_back
    warnings.warn(
        f"{old} is deprecated and goes in the next kdtext release: import from {new_home(old)} instead",
        DeprecationWarning,
        stacklevel=level,
    )


def moved_names(module: str) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``module`` that gives each name of :data:`MOVED_NAMES` from its new
    home, with a DeprecationWarning, and raises AttributeError for any other missing name."""
    names = MOVED_NAMES[module]

    def __getattr__(attr: str) -> Any:
        if attr not in names:
            raise AttributeError(f"module {module!r} has no attribute {attr!r}")
        warnings.warn(
            f"{module}.{attr} is deprecated and goes in the next kdtext release: import it from {names[attr]} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(names[attr]), attr)

    return __getattr__


class _SplitModule(types.ModuleType):
    """An old module whose names now live in several modules: each name from the first that has it."""

    def __init__(self, name: str, homes: tuple[str, ...]):
        super().__init__(name)
        self._kdtext_homes = homes

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        for home in self._kdtext_homes:
            module = importlib.import_module(home)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r} (its names are in {new_home(self.__name__)})")

    def __dir__(self) -> list[str]:
        return sorted({name for home in self._kdtext_homes for name in dir(importlib.import_module(home))})


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the old module names of :data:`MOVED` and :data:`SPLIT`, and only those."""

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED and fullname not in SPLIT:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname in PACKAGES)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        _warn(spec.name)
        if spec.name in MOVED:
            module = importlib.import_module(MOVED[spec.name])
            self._specs[spec.name] = module.__spec__  # the import system sets __spec__ to the alias's
            return module
        module = _SplitModule(spec.name, SPLIT[spec.name])
        if spec.name in PACKAGES:
            module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        real = self._specs.pop(module.__spec__.name, None) if module.__spec__ is not None else None
        if real is not None:
            module.__spec__ = real


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
