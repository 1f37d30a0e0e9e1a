"""The ``bert`` teacher's word vectors (:meth:`kdtext.Teacher.word_vectors`), two ways:

* ``"encoder"`` (the default): the finetuned teacher reads the word alone, and the
  word's vector is the mean of the encoder's last hidden states. These vectors carry
  what the teacher learned about the task: on Rotten Tomatoes the first principal
  component correlates 0.98-0.99 (in absolute value) with the teacher's own sentiment
  score for the word (``benchmarks/vectors_rt.py``), so the student knows the polarity
  of words it never saw in a transfer example.
* ``"embeddings"``: the mean of the word's sub-word rows in the input embedding table
  (no forward pass; knows word similarity, not the task).

kdtext reduces them by PCA (:func:`kdtext.students.vectors.word_vectors`).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ...base import WORD_VECTOR_SOURCES
from ...errors import ConfigError, ModelError

#: Tokens the encoder reads per word, special tokens included (a longer "word", such as a URL, is cut).
MAX_PIECES = 32


def teacher_vocabulary(tokenizer: Any) -> list[str]:
    """The teacher tokenizer's whole words (no ``##`` continuations, no special tokens)."""
    special = set(getattr(tokenizer, "all_special_tokens", []))
    words = []
    for token in tokenizer.get_vocab():
        if token in special or token.startswith("##") or token.startswith("[") or token.startswith("<"):
            continue
        word = token.lstrip("\u2581\u0120")  # SentencePiece / byte-level BPE word markers
        if word and word.isprintable():
            words.append(word)
    return sorted(set(words))


def word_vectors(
    tokenizer: Any,
    model: Any,
    words: Sequence[str],
    *,
    source: str = "encoder",
    batch_size: int = 512,
    progress: Callable[[int], None] | None = None,
    device: Any = "auto",
) -> tuple[list[str], np.ndarray]:
    """``(words kept, float64 (n, hidden) vectors)`` of a Hugging Face tokenizer and model.

    ``source``: ``"encoder"`` (mean last hidden state of ``model`` reading the word alone)
    or ``"embeddings"`` (mean of the word's sub-word input embeddings). ``words`` are
    taken sorted and without duplicates; words the tokenizer turns into nothing are
    dropped. ``progress(k)`` is called after each batch of ``k`` words (encoder only).
    ``device``: where the encoder runs (``auto``: CUDA when available; ``model`` is moved
    there), in fp32 whatever the device, so CPU and GPU give the same vectors to rounding
    (``benchmarks/gpu_check.py`` compares them).
    """
    if source not in WORD_VECTOR_SOURCES:
        raise ConfigError(f"unknown word-vector source {source!r}; use {' or '.join(WORD_VECTOR_SOURCES)}")
    words = sorted(set(w for w in words if w and not w.isspace()))
    ids = tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
    kept = [w for w, i in zip(words, ids) if i]
    ids = [i for i in ids if i]
    if not kept:
        raise ModelError("the teacher's tokenizer gave no sub-words for any word of the corpus")
    if source == "embeddings":
        table = model.get_input_embeddings().weight.detach().float().cpu().numpy()
        return kept, np.stack([table[i].mean(axis=0) for i in ids]).astype(np.float64)
    with_specials = tokenizer(kept, truncation=True, max_length=MAX_PIECES)["input_ids"]  # [CLS] word [SEP]
    from .device import resolve_device

    return kept, encoder_states(tokenizer, model, with_specials, batch_size, progress, resolve_device(device))


def encoder_states(
    tokenizer: Any, model: Any, ids: list[list[int]], batch_size: int, progress: Any, device: Any = None
) -> np.ndarray:
    """Mean last hidden state of ``model`` reading each id list alone (batched, padding masked out), on ``device``."""
    import torch

    model.eval()
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    seqs = ids
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = np.argsort([len(s) for s in seqs], kind="stable")  # similar lengths share a batch: little padding
    out: np.ndarray | None = None
    with torch.inference_mode():
        for start in range(0, len(seqs), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(seqs[r]) for r in rows)
            batch = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, r in enumerate(rows):
                batch[k, : len(seqs[r])] = seqs[r]
                mask[k, : len(seqs[r])] = 1
            attention = torch.from_numpy(mask).to(device)
            result = model(input_ids=torch.from_numpy(batch).to(device), attention_mask=attention, output_hidden_states=True)
            hidden = result.hidden_states[-1].float()
            weights = attention.unsqueeze(-1).float()
            means = ((hidden * weights).sum(1) / weights.sum(1)).cpu().numpy().astype(np.float64)
            if out is None:
                out = np.zeros((len(seqs), means.shape[1]), dtype=np.float64)
            out[rows] = means
            if progress is not None:
                progress(len(rows))
    assert out is not None
    return out
