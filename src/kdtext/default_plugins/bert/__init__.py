"""Built-in teacher ``bert``: finetune any Hugging Face encoder and label with it fast.

The class lives in :mod:`kdtext.default_plugins.bert.teacher`, which imports torch and transformers
only inside the methods that use them, so registering it keeps ``kdtext --help`` fast.
"""

from __future__ import annotations

from ...hookspecs import hookimpl


@hookimpl
def register_teachers(register):
    from .teacher import BertTeacher

    register("bert", BertTeacher)
