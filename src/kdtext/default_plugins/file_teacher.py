"""Built-in teacher ``file``: soft labels from a JSONL/CSV file, any external model as teacher."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def register_teachers(register):
    from ..teacher.file import FileTeacher

    register("file", FileTeacher)
