"""Where a command's output goes: with ``--json``, stdout carries the JSON and nothing else."""

from __future__ import annotations

import contextlib
import sys
from typing import IO, Iterator


@contextlib.contextmanager
def json_stdout(enabled: bool) -> Iterator[IO[str]]:
    """The stream to print a command's result to. With ``enabled`` (the command's ``--json``),
    anything else written to stdout while the block runs goes to stderr instead, so that the
    JSON parses: notably the worker and raylet lines Ray copies to the driver's stdout."""
    real = sys.stdout
    if not enabled:
        yield real
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield real
