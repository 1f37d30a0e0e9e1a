"""The interfaces that plugins implement: Teacher, Augmenter, Student and Tagger.

A plugin subclasses one of these and registers the class by name through a
``register_*`` hook (see :mod:`kdtext.hookspecs`). Parameters are keyword arguments of
the constructor, so ``cls(**params)`` builds one from a config file or ``--param`` flags.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from .corpus import TokenizedCorpus
    from .data import Dataset
    from .labels import LabelSpace
    from .augment import SyntheticSet


def directory_size(path: str | os.PathLike) -> int:
    """Bytes on disk of every file under ``path`` (or of ``path`` itself if a file)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Teacher(ABC):
    """A large, accurate classifier whose probabilities the student learns from.

    Subclasses set ``label_space`` once fitted or loaded.
    """

    #: Name under which the class is registered (for messages and metadata).
    name: ClassVar[str] = ""
    label_space: "LabelSpace | None" = None

    @property
    def mask_token(self) -> str | None:
        """The token the teacher was pretrained to read as "a word is hidden here", if any."""
        return None

    @abstractmethod
    def fit(self, train: "Dataset", dev: "Dataset | None" = None) -> dict[str, Any]:
        """Train on gold data (early-stopping on ``dev``); returns figures for the report."""

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)``; rows sum to 1 unless multi-label."""

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores before softmax/sigmoid, where the teacher has them."""
        raise NotImplementedError(f"teacher {self.name!r} does not expose logits")

    @abstractmethod
    def save(self, path: str | os.PathLike) -> None:
        """Write the teacher to a directory that :meth:`load` reads back."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike) -> "Teacher":
        """Read a teacher written by :meth:`save`."""

    def fingerprint(self) -> str:
        """A string that changes whenever the teacher's outputs could change (cache key)."""
        raise NotImplementedError

    def size_bytes(self) -> int | None:
        """Bytes on disk of the saved teacher, where known."""
        return None


class Augmenter(ABC):
    """Turns a tokenized corpus into synthetic examples, reproducibly for a given seed."""

    name: ClassVar[str] = ""
    #: Parameter names and defaults, documented in the class docstring.
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any):
        unknown = set(params) - set(self.defaults)
        if unknown:
            from .errors import ConfigError

            raise ConfigError(
                f"augmenter {self.name!r} has no parameter(s) {', '.join(sorted(unknown))}; "
                f"its parameters: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}

    @abstractmethod
    def augment(self, corpus: "TokenizedCorpus", n: int, *, seed: int = 0) -> "SyntheticSet":
        """Up to ``n`` synthetic examples made from ``corpus``; the same seed gives the same set."""


class Student(ABC):
    """The small, fast model that is trained on gold and soft labels and then deployed."""

    name: ClassVar[str] = ""
    label_space: "LabelSpace | None" = None

    @abstractmethod
    def fit(
        self,
        train: "Dataset",
        dev: "Dataset",
        transfer: "Dataset | None" = None,
        *,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Train on gold ``train`` plus soft-labelled ``transfer`` (if any), early-stopping on ``dev``.

        Without ``transfer`` this trains the baseline student. Returns figures for the report.
        """

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)``."""

    @abstractmethod
    def save(self, path: str | os.PathLike) -> None:
        """Write the student to a directory that :meth:`load` reads back."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike) -> "Student":
        """Read a student written by :meth:`save`."""

    def size_bytes(self) -> int:
        """Bytes on disk of the saved model."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            self.save(tmp)
            return directory_size(tmp)


class Tagger(ABC):
    """Part-of-speech tags for pre-tokenized words, for same-POS word replacement."""

    name: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def languages(cls) -> list[str]:
        """ISO codes of the languages this tagger can tag in the current environment."""

    @abstractmethod
    def __init__(self, lang: str):
        ...

    @abstractmethod
    def tag(self, words: Sequence[str]) -> list[str]:
        """One tag per word (Universal POS tags where possible)."""

    def tag_many(self, docs: Sequence[Sequence[str]]) -> Iterator[list[str]]:
        """Tags for many documents; override to batch."""
        for words in docs:
            yield self.tag(words)
