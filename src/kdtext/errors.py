"""Errors meant for the people who run kdtext.

Library code raises these; the CLI turns each into one clear line (exit code 1),
with the traceback only under ``--debug``.
"""

from __future__ import annotations

import os
from typing import Iterable


class KdtextError(Exception):
    """Base class of every error kdtext reports to its user."""


class DataError(KdtextError):
    """Bad input data, located by file and line where that is known.

    ``str(DataError("x.jsonl", 3, "missing 'text'"))`` is ``x.jsonl:3: missing 'text'``.
    """

    def __init__(self, path: str | os.PathLike | None, line: int | None, message: str):
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
            where += ": "
        super().__init__(where + message)


class PluginError(KdtextError):
    """A plugin failed to load, registered a clashing name, or misbehaved."""


class UnknownPluginError(KdtextError):
    """A name that no installed plugin registered; the message lists what is available."""

    def __init__(self, kind: str, name: str, available: Iterable[str]):
        self.kind = kind
        self.name = name
        self.available = sorted(available)
        listing = ", ".join(self.available) or "none installed"
        super().__init__(f"unknown {kind} {name!r}; available: {listing}")


class ModelError(KdtextError):
    """A model directory is missing, incomplete, or disagrees with the data."""


class ConfigError(KdtextError):
    """A setting or parameter has an invalid value."""


class PluginOutputError(KdtextError):
    """A plugin handed back something kdtext cannot use (NaN, wrong shape, a missing field...)."""


class TeacherOutputError(PluginOutputError):
    """A teacher produced probabilities that cannot be trained on (NaN, wrong shape...)."""


class StudentOutputError(PluginOutputError):
    """A student returned training figures or probabilities that break the student contract."""
