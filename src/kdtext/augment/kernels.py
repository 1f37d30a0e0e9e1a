"""The driver of the augmentation kernels: :func:`kernel_parts` runs :mod:`kdtext._fast`'s augmentation
rounds over a corpus, round after round, yielding each round's examples as a :class:`~kdtext.augment.synthetic.SyntheticSet`;
:func:`run_kernel` joins them into one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from ..errors import ConfigError
from .synthetic import MIN_TOKENS, SyntheticSet

if TYPE_CHECKING:
    from .corpus import TokenizedCorpus


# -- the engine --------------------------------------------------------------------------------


def run_kernel(corpus: "TokenizedCorpus", n: int | None, **kwargs: Any) -> SyntheticSet:
    """Run the compiled kernels round by round over ``corpus``: the set of :func:`kernel_parts`, in one piece.

    Returns at most ``n`` examples (``None``: everything ``n_iter`` rounds give).
    """
    return SyntheticSet.concat(list(kernel_parts(corpus, n, **kwargs)))


def kernel_parts(
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
) -> Iterator[SyntheticSet]:
    """The examples of each round of the kernels over ``corpus``, one part per round, as they are made.

    ``mode`` combines the ``kdtext._fast.MODE_*`` flags. At most ``n`` examples in all
    (``None``: everything ``n_iter`` rounds give). The first part carries the counts of
    skipped documents, a last empty part any note, so :meth:`SyntheticSet.concat` of the
    parts is the whole set (what :func:`run_kernel` returns); a caller that writes each part
    away holds one round's examples at a time.
    """
    from .. import _fast

    if n is not None and n < 0:
        raise ConfigError(f"the number of examples must be positive, got {n}")
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

    def labelled(part: SyntheticSet, *, skipped: dict[str, int] | None = None, notes: list[str] | None = None) -> SyntheticSet:
        part.seed, part.params = seed, dict(params or {})
        part.skipped = dict(skipped or {})
        part.notes = list(notes or [])
        return part

    first = {k: v for k, v in skipped.items() if v}
    if docs.size == 0 or n == 0:
        notes = ["no source text could be augmented (each needs at least two tokens)"] if docs.size == 0 else []
        yield labelled(SyntheticSet.empty(vocab, augmenter), skipped=first, notes=notes)
        return
    seen = None
    if unique:
        expected = docs.size * int(n_iter) if n is None else min(n, docs.size * int(n_iter))
        seen = _fast.HashSet(corpus.n_docs + expected)
        seen.add_new(corpus.doc_hashes())  # copies of any source text are dropped
    kept = 0
    for rnd in range(int(n_iter)):
        try:
            words, spaces, offsets, src, hashes = _fast.augment_round(
                corpus.words, corpus.spaces, corpus.tags, corpus.sent_starts, corpus.doc_offsets, docs,
                corpus.doc_base, seed, rnd, mode, p_mask, p_pos, p_ng, n_min, n_max, mask_id, *pos_args,
                doc_keys=corpus.doc_keys,
            )  # fmt: skip
        except _fast.KernelInputError as exc:  # the kernels' own error, said the way kdtext says bad input
            raise ConfigError(str(exc)) from None
        part = SyntheticSet(vocab, words, spaces, offsets, src + corpus.doc_base, np.full(src.shape[0], rnd, np.int32), augmenter)
        if seen is not None:
            idx = np.flatnonzero(seen.add_new(hashes))
            if idx.size != len(part):
                part = part.subset(idx)
        if n is not None and kept + len(part) > n:
            part = part.subset(np.arange(n - kept))
        kept += len(part)
        yield labelled(part, skipped=first if rnd == 0 else None)
        if n is not None and kept >= n:
            break
    if n is not None and kept < n:
        yield labelled(SyntheticSet.empty(vocab, augmenter), notes=[
            f"made {kept:,} of the {n:,} examples asked for: {n_iter} rounds over {docs.size:,} source texts "
            "gave no more distinct ones (raise n_iter, or add unlabelled texts)"
        ])  # fmt: skip


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
