"""The optional part of the Teacher contract that the ``bert`` teacher offers (a mixin of
:class:`~kdtext.default_plugins.bert.teacher.BertTeacher`): the input ids of a synthetic set
made without tokenizing its texts, its tokenizer's words, word vectors for the student, and
sentence representations from ``label``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

import numpy as np

if TYPE_CHECKING:
    from ...augment.synthetic import SyntheticSet


class HuggingFaceCapabilities:
    """:meth:`kdtext.Teacher.input_ids`, :meth:`~kdtext.Teacher.vocabulary` and
    :meth:`~kdtext.Teacher.word_vectors` of a teacher with a Hugging Face ``tokenizer`` and ``model``."""

    # BertTeacher gives these, and ``_require_model()``; kdtext.Teacher gives ``device()``.
    tokenizer: Any
    model: Any
    #: ``label(..., representations=True)``: the mean last hidden state over each example's
    #: tokens, from the forward pass that gives its logits (PyTorch or the ONNX graph's second output).
    gives_representations: ClassVar[bool] = True

    def input_ids(self, synthetic: "SyntheticSet") -> list[list[int]] | None:
        """``tokenizer(text)["input_ids"]`` of every example, emitted from the set's word arrays
        (:mod:`kdtext.default_plugins.bert.teacher_ids`); None for a slow (Python) tokenizer."""
        self._require_model()  # type: ignore[attr-defined]
        if not getattr(self.tokenizer, "is_fast", False):
            return None
        from .teacher_ids import teacher_ids

        return teacher_ids(synthetic, self.tokenizer).tolist()

    def vocabulary(self) -> list[str]:
        """The tokenizer's whole words (no ``##`` continuations, no special tokens)."""
        from .vectors import teacher_vocabulary

        self._require_model()  # type: ignore[attr-defined]
        return teacher_vocabulary(self.tokenizer)

    def word_vectors(
        self,
        words: Sequence[str],
        *,
        source: str = "encoder",
        device: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """The encoder's or the embedding table's vector of each word: see :mod:`kdtext.default_plugins.bert.vectors`."""
        from .vectors import word_vectors

        self._require_model()  # type: ignore[attr-defined]
        where = device if device is not None else self.device()  # type: ignore[attr-defined]
        return word_vectors(self.tokenizer, self.model, words, source=source, progress=progress, device=where)
