"""Teachers: finetuning a Hugging Face encoder and labelling examples with it, fast.

Importing this package is cheap: torch and transformers are imported by the
functions that need them.

* :class:`kdtext.teacher.bert.BertTeacher` -- the ``bert`` teacher (any
  ``AutoModelForSequenceClassification``).
* :class:`kdtext.teacher.file.FileTeacher` -- the ``file`` teacher (soft labels from a file).
* :class:`kdtext.teacher.labelling.LabelResult` -- what ``BertTeacher.label`` returns.
* :class:`kdtext.teacher.cache.LabelCache` -- the crash-safe label cache.
* :func:`kdtext.teacher.validate.check_teacher_output` -- NaN / shape / sum checks for any teacher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bert import BertTeacher
    from .cache import LabelCache
    from .file import FileTeacher
    from .labelling import LabelResult
    from .validate import check_teacher_output

_LAZY = {
    "BertTeacher": ".bert",
    "FileTeacher": ".file",
    "LabelCache": ".cache",
    "LabelResult": ".labelling",
    "check_teacher_output": ".validate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
