"""Built-in teacher ``command``: any program that reads JSONL texts and writes probabilities."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def register_teachers(register):
    from ..teacher.command import CommandTeacher

    register("command", CommandTeacher)
