"""kdtext: distil a large transformer text classifier into a small, fast spaCy model."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import _compat
from .base import Augmenter, FitResult, Student, Tagger, Teacher
from .data import Dataset, read_labelled, read_soft_labels, read_texts
from .errors import KdtextError
from .hookspecs import hookimpl
from .labels import LabelSpace

_compat.install()  # the import paths of kdtext 0.1 that moved: a warning, for one release

try:
    __version__ = version("kdtext")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Augmenter",
    "Dataset",
    "FitResult",
    "KdtextError",
    "LabelSpace",
    "Student",
    "Tagger",
    "Teacher",
    "__version__",
    "hookimpl",
    "read_labelled",
    "read_soft_labels",
    "read_texts",
]
