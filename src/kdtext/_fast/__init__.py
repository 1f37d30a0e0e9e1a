"""Augmentation kernels: the compiled Cython module, or its pure-Python twin.

The twin (:mod:`kdtext._fast._py`) is the executable specification. It is used only
when ``KDTEXT_NO_EXTENSIONS=1`` asks for it; a missing or broken build is an error,
never a silent fallback. ``IMPLEMENTATION`` says which one is in use.

Kernels (same API in both):

``augment_round(...)``
    one synthetic example per source document for one round (mask, same-POS swap,
    n-gram, sentence, or any combination of them, chosen by ``mode`` flags);
``hash_spans(words, spaces, offsets)``
    a 64-bit hash per example, to drop duplicates and copies of the originals;
``derive_seed(seed, doc, rnd)``
    the per-(document, round) RNG stream seed, independent of sharding;
``HashSet(capacity)``
    a set of 64-bit hashes with ``add_new(hashes) -> bool array`` (True where new);
``gather_rows(table_ids, table_offsets, rows)``
    concatenated rows of a ragged table (teacher ids, chunk by chunk);
``uniform(seed, n)``
    the raw generator, for tests.
"""

from __future__ import annotations

import os

if os.environ.get("KDTEXT_NO_EXTENSIONS", "") not in ("", "0"):
    from . import _py as _impl

    IMPLEMENTATION = "python"
else:
    try:
        from . import _kernels as _impl
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError(
            "kdtext's compiled kernels (kdtext._fast._kernels) are not built: reinstall with "
            "`pip install -e .` (needs a C compiler), or set KDTEXT_NO_EXTENSIONS=1 to use the "
            f"slow pure-Python twin. Cause: {exc}"
        ) from exc
    IMPLEMENTATION = "cython"

from ._common import KernelInputError, MODE_ALL, MODE_MASK, MODE_NGRAM, MODE_POS, MODE_SENTENCE  # noqa: E402

uniform = _impl.uniform
derive_seed = _impl.derive_seed
hash_spans = _impl.hash_spans
augment_round = _impl.augment_round
HashSet = _impl.HashSet
gather_rows = _impl.gather_rows

__all__ = [
    "HashSet",
    "IMPLEMENTATION",
    "KernelInputError",
    "MODE_ALL",
    "MODE_MASK",
    "MODE_NGRAM",
    "MODE_POS",
    "MODE_SENTENCE",
    "augment_round",
    "derive_seed",
    "gather_rows",
    "hash_spans",
    "uniform",
]
