"""``kdtext_student.json``: what kdtext writes beside every saved student, whatever the plugin.

The student plugin's ``save`` writes its model; kdtext then writes this file (student
name, label space, parameters, training figures, the kdtext version and the plugin's
distribution and version), which ``kdtext evaluate``, ``kdtext package`` and
:func:`kdtext.students.load_student` read back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..io import read_json

#: File beside the saved model that says which student it is.
META_FILE = "kdtext_student.json"
FORMAT_VERSION = 1


def read_student_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The ``kdtext_student.json`` of a saved student; ModelError if it is not one."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: no such model directory")
    meta_path = path / META_FILE
    try:
        meta = read_json(meta_path, error=ModelError)
    except FileNotFoundError:
        raise ModelError(f"{path}: not a kdtext student (no {META_FILE}); train one with `kdtext train-student`") from None
    except OSError as exc:
        raise ModelError(f"{meta_path}: unreadable: {exc}") from None
    if not isinstance(meta, dict) or "label_space" not in meta or not meta.get("label_space"):
        raise ModelError(f"{meta_path}: incomplete student metadata (no label space)")
    return meta
