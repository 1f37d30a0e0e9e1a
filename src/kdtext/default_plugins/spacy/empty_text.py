"""Empty texts get a valid distribution from a kdtext student: the uniform one (single-label).

spaCy's text categorizer answers a batch in which no text has a token (``nlp("")``) with
all-zero scores, without calling its model (``TextCategorizer.predict``); spaCy's
tokenizer gives ``""`` no token, and no stock component or registered layer can change
either, so a saved student loaded by plain ``spacy.load`` answers ``""`` with
``{"pos": 0.0, "neg": 0.0}``: rows that do not sum to 1 for a single-label task, against
the contract kdtext holds teachers and students to. Some models cannot even take an empty
text among others (``spacy-fast``'s ``reduce`` pooling: thinc's ``reduce_max`` refuses a
sequence of length 0). Whitespace-only texts are not concerned: they are one token.

:func:`empty_text_safe` makes each text categorizer of a pipeline score only the texts
that have tokens and give the others no-evidence scores: 1/k per label for single-label
(exclusive) classes, 0 for multi-label ones. kdtext's spaCy students use it, and
``kdtext package`` ships this module in the spaCy package it builds, whose config names
the callback registered here (``[nlp] after_pipeline_creation``), so the installed
package answers ``""`` the same way with spaCy alone.

This module imports spaCy and nothing of kdtext: it is copied into packages as it is.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
from spacy.pipeline.textcat import TextCategorizer
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.util import registry

#: The name of the callback that a packaged student's config gives as ``after_pipeline_creation``.
CALLBACK = "kdtext.empty_text_safe.v1"


def empty_text_safe(nlp: Any) -> Any:
    """``nlp``, each of whose text categorizers now scores texts without tokens as "no evidence"."""
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, TextCategorizer) and not getattr(pipe, "_empty_text_safe", False):
            pipe.predict = _safe_predict(pipe, pipe.predict)
            pipe._empty_text_safe = True
    return nlp


def _safe_predict(pipe: Any, predict: Callable[[list], Any]) -> Callable[[Iterable], np.ndarray]:
    def safe_predict(docs: Iterable) -> np.ndarray:
        docs = list(docs)
        k = len(pipe.labels)
        exclusive = not (isinstance(pipe, MultiLabel_TextCategorizer) or getattr(pipe, "multilabel", False))
        scores = np.full((len(docs), k), 1.0 / k if exclusive and k else 0.0, dtype=np.float32)
        filled = [i for i, doc in enumerate(docs) if len(doc)]
        if filled:
            scores[filled] = pipe.model.ops.to_numpy(predict([docs[i] for i in filled]))
        return scores

    return safe_predict


@registry.callbacks(CALLBACK)
def make_empty_text_safe() -> Callable[[Any], Any]:
    """The ``after_pipeline_creation`` callback of a packaged student: :func:`empty_text_safe`."""
    return empty_text_safe
