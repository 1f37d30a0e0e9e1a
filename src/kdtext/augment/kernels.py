"""The driver of the augmentation kernels: :func:`run_kernel` runs one of :mod:`kdtext._fast`'s
augmentation rounds over a corpus, round after round, into a :class:`~kdtext.augment.synthetic.SyntheticSet`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from .synthetic import MIN_TOKENS, SyntheticSet

if TYPE_CHECKING:
    from .corpus import TokenizedCorpus


# -- the engine --------------------------------------------------------------------------------


def run_kernel(
    corpus: "TokenizedCorpus",
    n: int | None,
    *,
    seed: int = 0,
    mode: int,
    augmenter: str = "",
    p_mask: float = 0.0,
    p_pos: float = 0.0,
    p_ng: float = 0.0,
    n_min: int = 1,
    n_max: int = 5,
    n_iter: int = 20,
    mask_token: str = "[MASK]",
    unique: bool = True,
    params: dict[str, Any] | None = None,
) -> SyntheticSet:
    """Run the compiled kernels round by round over ``corpus`` (see the module docstring).

    ``mode`` combines the ``kdtext._fast.MODE_*`` flags. Returns at most ``n`` examples
    (``None``: everything ``n_iter`` rounds give).
    """
    from .. import _fast

    if n is not None and n < 0:
        raise ConfigError(f"the number of examples must be positive, got {n}")
    notes: list[str] = []
    if mode & _fast.MODE_POS and not corpus.tagged:
        raise ConfigError(
            f"same-POS replacement needs part-of-speech tags, and the corpus (language {corpus.lang!r}) has none: "
            "build it with a tagger (see `kdtext taggers`)"
        )
    vocab = corpus.vocab
    mask_id = 0
    if mode & _fast.MODE_MASK:
        vocab, mask_id = corpus.vocab_with(mask_token)
    lengths = corpus.doc_lengths()
    skipped = {"empty": int(np.sum(lengths == 0)), "one_token": int(np.sum(lengths == 1))}
    eligible = lengths >= MIN_TOKENS
    if mode & _fast.MODE_SENTENCE:
        sents = _sentences_per_doc(corpus)
        skipped["one_sentence"] = int(np.sum(eligible & (sents < 2)))
        eligible &= sents >= 2
    docs = np.flatnonzero(eligible).astype(np.int64)
    table = corpus.pos_table() if mode & _fast.MODE_POS else None
    pos_args = (table.offsets, table.words, table.cum) if table is not None else (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64))
    result = SyntheticSet.empty(vocab, augmenter)
    result.seed, result.params = seed, dict(params or {})
    result.skipped = {k: v for k, v in skipped.items() if v}
    if docs.size == 0 or n == 0:
        if docs.size == 0:
            notes.append("no source text could be augmented (each needs at least two tokens)")
        result.notes = notes
        return result
    try:
        seen = None
        if unique:
            expected = docs.size * int(n_iter) if n is None else min(n, docs.size * int(n_iter))
            seen = _fast.HashSet(corpus.n_docs + expected)
            seen.add_new(corpus.doc_hashes())  # copies of any source text are dropped
        parts: list[SyntheticSet] = []
        kept = 0
        for rnd in range(int(n_iter)):
            words, spaces, offsets, src, hashes = _fast.augment_round(
                corpus.words, corpus.spaces, corpus.tags, corpus.sent_starts, corpus.doc_offsets, docs,
                corpus.doc_base, seed, rnd, mode, p_mask, p_pos, p_ng, n_min, n_max, mask_id, *pos_args,
                doc_keys=corpus.doc_keys,
            )  # fmt: skip
            part = SyntheticSet(vocab, words, spaces, offsets, src + corpus.doc_base, np.full(src.shape[0], rnd, np.int32), augmenter)
            if seen is not None:
                idx = np.flatnonzero(seen.add_new(hashes))
                if idx.size != len(part):
                    part = part.subset(idx)
            if n is not None and kept + len(part) > n:
                part = part.subset(np.arange(n - kept))
            parts.append(part)
            kept += len(part)
            if n is not None and kept >= n:
                break
    except _fast.KernelInputError as exc:  # the kernels' own error, said the way kdtext says bad input
        raise ConfigError(str(exc)) from None
    out = SyntheticSet.concat(parts)
    out.seed, out.params, out.skipped = seed, dict(params or {}), result.skipped
    if n is not None and kept < n:
        notes.append(
            f"made {kept:,} of the {n:,} examples asked for: {n_iter} rounds over {docs.size:,} source texts "
            "gave no more distinct ones (raise n_iter, or add unlabelled texts)"
        )
    out.notes = notes
    return out


def _sentences_per_doc(corpus: "TokenizedCorpus") -> np.ndarray:
    lo = int(corpus.doc_offsets[0])
    hi = int(corpus.doc_offsets[-1])
    flags = np.asarray(corpus.sent_starts[lo:hi], dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(flags)])
    rel = corpus.doc_offsets - lo
    counts = cum[rel[1:]] - cum[rel[:-1]]
    # a document's first token always starts a sentence, whatever its flag says
    nonempty = rel[1:] > rel[:-1]
    first_flag = np.zeros(corpus.n_docs, np.int64)
    first_flag[nonempty] = flags[rel[:-1][nonempty]]
    return counts + (nonempty & (first_flag == 0))
