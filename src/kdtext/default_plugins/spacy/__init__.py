"""Built-in students ``spacy-fast`` (the default), ``spacy-cnn`` and ``spacy-bow``: spaCy text
classifiers trained on soft labels.

Importing this module is cheap: spaCy is imported only when a student is built.
"""

from __future__ import annotations

from ...hookspecs import hookimpl


@hookimpl
def register_students(register):
    from .student import SpacyBOWStudent, SpacyCNNStudent

    register("spacy-cnn", SpacyCNNStudent)
    register("spacy-bow", SpacyBOWStudent)

    from .fast import SpacyFastStudent

    register("spacy-fast", SpacyFastStudent)
