"""The teacher's input ids of synthetic examples, built from their word arrays without tokenizing.

:func:`teacher_ids` gives the ids of a :class:`~kdtext.augment.synthetic.SyntheticSet` (what the
``bert`` teacher's :meth:`~kdtext.Teacher.input_ids` returns); :func:`emitter_for` gives the
(cached) :class:`TeacherIdEmitter` of a tokenizer and a vocabulary; :func:`id_agreement` checks
the emitted ids against the tokenizer's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence

import numpy as np

from ...errors import ConfigError


class WordArrays(Protocol):
    """What an emitter reads of a set of examples (a :class:`kdtext.augment.synthetic.SyntheticSet` has it)."""

    vocab: list[str]
    words: np.ndarray
    spaces: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int: ...

    def iter_texts(self) -> Iterator[str]: ...


# -- teacher ids -------------------------------------------------------------------------------


@dataclass
class TokenIds:
    """Token ids of many examples, flat: example ``i`` is ``ids[offsets[i]:offsets[i+1]]``."""

    ids: np.ndarray  # int32
    offsets: np.ndarray  # int64, n + 1

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def __getitem__(self, i: int) -> list[int]:
        return self.ids[int(self.offsets[i]) : int(self.offsets[i + 1])].tolist()

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def tolist(self) -> list[list[int]]:
        flat = self.ids.tolist()
        off = self.offsets.tolist()
        return [flat[off[i] : off[i + 1]] for i in range(len(self))]

    def padded(
        self, indices: Sequence[int] | np.ndarray | None = None, *, max_length: int | None = None,
        pad_id: int = 0, n_suffix: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """``(input_ids, attention_mask)`` int64 arrays, padded to the longest of the batch.

        Rows longer than ``max_length`` are cut as a tokenizer with ``truncation=True``
        cuts them: the last ``n_suffix`` ids (the closing special tokens) are kept.
        """
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        lengths = self.lengths()[idx]
        width = int(lengths.max()) if idx.size else 0
        if max_length is not None:
            width = min(width, max_length)
        ids = np.full((idx.size, width), pad_id, dtype=np.int64)
        mask = np.zeros((idx.size, width), dtype=np.int64)
        for row, i in enumerate(idx.tolist()):
            seq = self.ids[int(self.offsets[i]) : int(self.offsets[i + 1])]
            if seq.shape[0] > width:
                seq = np.concatenate([seq[: width - n_suffix], seq[seq.shape[0] - n_suffix :]]) if n_suffix else seq[:width]
            ids[row, : seq.shape[0]] = seq
            mask[row, : seq.shape[0]] = 1
        return ids, mask


_U64 = np.uint64


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function over a uint64 array (wrapping arithmetic)."""
    z = z.astype(_U64, copy=True)
    z ^= z >> _U64(30)
    z *= _U64(0xBF58476D1CE4E5B9)
    z ^= z >> _U64(27)
    z *= _U64(0x94D049BB133111EB)
    z ^= z >> _U64(31)
    return z


class TeacherIdEmitter:
    """Emits a Hugging Face fast tokenizer's input ids straight from word-id arrays.

    A synthetic text is a sequence of *chunks* (tokens glued together with no whitespace
    between them, such as ``great!`` or ``do|n't``) separated by single spaces. The
    pre-tokenizers of WordPiece (BERT), SentencePiece/Metaspace (XLM-R) and byte-level BPE
    (RoBERTa) all split at whitespace, so a text's ids are the concatenation of its
    chunks' ids, each tokenized in context: the first chunk as at the start of a text,
    the others after a space (which byte-level BPE folds into the next piece). The ids of
    every vocabulary word in both contexts are computed once, in two batch calls; a chunk
    of several words (about one per sentence) is tokenized once when first seen and then
    looked up by a 64-bit hash of its word ids. Special tokens come from the tokenizer's
    own post-processor (``tokenizer("a")`` compared with the same without special tokens).

    A tokenizer for which that rule does not hold (see :func:`emission_problem`: no
    pre-tokenizer, SentencePiece without splitting at spaces, a normalizer that strips)
    is handled by re-tokenizing the texts instead; ``fallback`` then says why, and a
    warning says so once.
    """

    def __init__(self, tokenizer: Any, vocab: list[str]):
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError("teacher-id emission needs a Hugging Face *fast* tokenizer (PreTrainedTokenizerFast)")
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.vocab_size = len(vocab)
        self.fallback = emission_problem(tokenizer, vocab)
        if self.fallback is not None:
            _warn_once(
                f"teacher ids for {type(tokenizer).__name__} are made by re-tokenizing the synthetic texts "
                f"(slower, same ids): {self.fallback}"
            )
            return
        full = list(tokenizer("a")["input_ids"])
        bare = list(tokenizer("a", add_special_tokens=False)["input_ids"])
        self.prefix, self.suffix = _split_specials(full, bare)
        rows: list[list[int]] = []
        rows += self._encode([" " + w for w in vocab])  # rows 0..V-1: after a space
        rows += self._encode(list(vocab))  # rows V..2V-1: at the start of a text
        rows.append(self.prefix)  # row 2V
        rows.append(self.suffix)  # row 2V + 1
        self._flat: list[np.ndarray] = [np.asarray(r, dtype=np.int32) for r in rows]
        self._table_ids = np.concatenate(self._flat) if self._flat else np.zeros(0, np.int32)
        lens = np.asarray([len(r) for r in rows], dtype=np.int64)
        self._table_off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        flags = self._split_flags(vocab)
        self._splits_before, self._splits_after = flags if flags is not None else (None, None)
        self._chunk_keys = np.zeros(0, dtype=np.uint64)  # sorted hashes of multi-word chunks
        self._chunk_rows = np.zeros(0, dtype=np.int64)  # their rows in the table
        self._pending: list[np.ndarray] = []

    def _encode(self, strings: list[str]) -> list[list[int]]:
        if not strings:
            return []
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:  # the same ids as tokenizer(...), without building Python dicts
            return [enc.ids for enc in backend.encode_batch(strings, add_special_tokens=False)]
        return [list(ids) for ids in self.tokenizer(strings, add_special_tokens=False)["input_ids"]]

    def _split_flags(self, vocab: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """Per word: whether a WordPiece (BERT) pre-tokenizer always splits before / after it.

        BERT splits at every punctuation character (and around CJK ideographs), so ``great|!``
        or ``it|'s`` glued together tokenize as their parts do; their ids need no chunk
        lookup. Only for BERT's pre-tokenizer, whose rule is known; None for other families
        (they take the exact, slower, chunk path).
        """
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        pre = getattr(backend, "pre_tokenizer", None)
        if pre is None or type(pre).__name__ != "BertPreTokenizer":
            return None
        norm = getattr(backend, "normalizer", None)
        if norm is not None and type(norm).__name__ != "BertNormalizer":
            return None
        first = np.zeros(len(vocab), dtype=bool)
        last = np.zeros(len(vocab), dtype=bool)
        for i, word in enumerate(vocab):
            if word:
                first[i] = _bert_boundary_char(word[0])
                last[i] = _bert_boundary_char(word[-1])
        return first, last

    def _add_rows(self, rows: list[list[int]]) -> np.ndarray:
        first = self._table_off.shape[0] - 1
        new_ids = [np.asarray(r, dtype=np.int32) for r in rows]
        lens = np.asarray([len(r) for r in rows], dtype=np.int64)
        self._table_ids = np.concatenate([self._table_ids, *new_ids]) if rows else self._table_ids
        self._table_off = np.concatenate([self._table_off, self._table_off[-1] + np.cumsum(lens)]).astype(np.int64)
        return np.arange(first, first + len(rows), dtype=np.int64)

    def emit(self, synthetic: WordArrays) -> TokenIds:
        """The input ids of every example of ``synthetic`` (whose vocabulary must be this emitter's)."""
        if self.fallback is not None:
            return self._retokenize(synthetic)
        V = self.vocab_size
        words = synthetic.words.astype(np.int64)
        spaces = synthetic.spaces
        offsets = synthetic.offsets
        n = len(synthetic)
        n_tok = words.shape[0]
        if n_tok and words.max() >= V:
            raise ConfigError("the synthetic set uses words outside the emitter's vocabulary")
        # a token starts a chunk unless it follows a token of the same example with no space
        starts_example = np.zeros(n_tok, dtype=bool)
        starts_example[offsets[:-1][np.diff(offsets) > 0]] = True
        chunk_start = starts_example.copy()
        if n_tok > 1:
            chunk_start[1:] |= spaces[:-1].astype(bool)
            if self._splits_before is not None:
                # a glued join that the pre-tokenizer splits anyway: the next word starts afresh
                chunk_start[1:] |= self._splits_before[words[1:]] | self._splits_after[words[:-1]]
        chunk_pos = np.flatnonzero(chunk_start)
        n_chunks = chunk_pos.shape[0]
        chunk_len = np.diff(np.append(chunk_pos, n_tok))
        first_ctx = starts_example[chunk_pos]
        keys = words[chunk_pos] + np.where(first_ctx, V, 0)  # rows of single-word chunks
        multi = np.flatnonzero(chunk_len > 1)
        if multi.size:
            keys[multi] = self._multi_rows(words, chunk_pos, chunk_len, first_ctx, multi)
        # chunks before each example (examples have at least... zero or more chunks)
        before = np.concatenate([[0], np.cumsum(chunk_start)])
        ex_chunk_off = before[offsets]
        chunks_per_ex = np.diff(ex_chunk_off)
        # segments: prefix, the example's chunks, suffix
        n_seg = n_chunks + 2 * n
        seg = np.empty(n_seg, dtype=np.int64)
        ex_of_chunk = np.repeat(np.arange(n, dtype=np.int64), chunks_per_ex)
        seg[np.arange(n_chunks) + 2 * ex_of_chunk + 1] = keys
        seg[ex_chunk_off[:-1] + 2 * np.arange(n)] = 2 * V
        seg[ex_chunk_off[1:] + 2 * np.arange(n) + 1] = 2 * V + 1
        from ... import _fast

        ids, out_off_seg = _fast.gather_rows(self._table_ids, self._table_off, seg)
        seg_per_ex = chunks_per_ex + 2
        seg_ex_off = np.concatenate([[0], np.cumsum(seg_per_ex)])
        return TokenIds(ids.astype(np.int32, copy=False), out_off_seg[seg_ex_off].astype(np.int64))

    def _retokenize(self, synthetic: WordArrays, batch: int = 8192) -> TokenIds:
        """What :meth:`emit` gives, by running the tokenizer on the texts (batch by batch)."""
        rows: list[np.ndarray] = []
        texts = synthetic.iter_texts()
        while True:
            part = [text for _, text in zip(range(batch), texts)]
            if not part:
                break
            rows.extend(np.asarray(ids, dtype=np.int32) for ids in self.tokenizer(part)["input_ids"])
        lengths = np.asarray([r.shape[0] for r in rows], dtype=np.int64)
        ids = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        return TokenIds(ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    def _multi_rows(
        self, words: np.ndarray, chunk_pos: np.ndarray, chunk_len: np.ndarray, first_ctx: np.ndarray, multi: np.ndarray
    ) -> np.ndarray:
        """Table rows of the multi-word chunks ``multi``, tokenizing the ones not seen before."""
        lens = chunk_len[multi]
        token_idx = np.repeat(chunk_pos[multi] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(int(lens.sum()))
        pos_in = token_idx - np.repeat(chunk_pos[multi], lens)
        contrib = _mix64(words[token_idx].astype(_U64) * _U64(0x9E3779B97F4A7C15) + pos_in.astype(_U64) * _U64(0xD1B54A32D192ED03) + _U64(1))
        seg_starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        h = np.add.reduceat(contrib, seg_starts) if contrib.size else np.zeros(0, _U64)
        h = _mix64(h ^ (lens.astype(_U64) << _U64(1)) ^ first_ctx[multi].astype(_U64))
        where = np.searchsorted(self._chunk_keys, h)
        known = (where < self._chunk_keys.shape[0]) & (self._chunk_keys[np.minimum(where, max(self._chunk_keys.shape[0] - 1, 0))] == h) if self._chunk_keys.size else np.zeros(h.shape, bool)
        if not known.all():
            new = np.flatnonzero(~known)
            uniq, first = np.unique(h[new], return_index=True)
            strings = []
            for j in new[first].tolist():
                a = int(chunk_pos[multi[j]])
                text = "".join(self.vocab[w] for w in words[a : a + int(lens[j])].tolist())
                strings.append(text if first_ctx[multi[j]] else " " + text)
            rows = self._add_rows(self._encode(strings))
            keys = np.concatenate([self._chunk_keys, uniq])
            vals = np.concatenate([self._chunk_rows, rows])
            order = np.argsort(keys, kind="stable")
            self._chunk_keys, self._chunk_rows = keys[order], vals[order]
            where = np.searchsorted(self._chunk_keys, h)
        return self._chunk_rows[where]


# Pre-tokenizers that cut a text at every space (so no sub-word spans one), and those that
# may come before them in a Sequence because they only cut within a run of non-spaces.
_SPLITS_AT_SPACES = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}
_LOCAL_SPLITTERS = {"Punctuation", "Digits"}


def _parts(state: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The components of a (possibly nested) Sequence of the tokenizers library, in order."""
    if state.get("type") == "Sequence":
        return [leaf for part in state.get(key, []) for leaf in _parts(part, key)]
    return [state]


def _state(component: Any) -> dict[str, Any] | None:
    try:
        return json.loads(component.__getstate__())
    except Exception:  # an object of a tokenizers version that does not serialize this way
        return None


def emission_problem(tokenizer: Any, vocab: Sequence[str] = ()) -> str | None:
    """Why :class:`TeacherIdEmitter` cannot build ``tokenizer``'s ids from chunks, or None when it can.

    The emitter tokenizes each space-separated chunk on its own, which gives the
    tokenizer's own ids only when (1) its pre-tokenizer cuts the text at every space
    before anything looks across one: WordPiece's ``BertPreTokenizer`` / ``Whitespace``,
    SentencePiece's ``Metaspace`` with ``split`` on (XLM-R, mDeBERTa), byte-level BPE's
    ``ByteLevel`` with its regex (RoBERTa, GPT-2); (2) its normalizer does not strip or
    prepend to the text, nor replace spaces, nor strip the space before a word where the
    pre-tokenizer tells ``w`` from `` w``; (3) no added token in ``vocab`` (such as a
    mask token) swallows the space after it (``rstrip``). Other tokenizers (SentencePiece
    with ``split=False``, as Llama's; no pre-tokenizer; custom ``Split`` regexes) are
    re-tokenized instead.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return "it has no backend tokenizer to inspect"
    pre = backend.pre_tokenizer
    if pre is None:
        return "it has no pre-tokenizer, so its sub-words may span spaces"
    state = _state(pre)
    if state is None:
        return f"its pre-tokenizer ({type(pre).__name__}) cannot be inspected"
    for part in _parts(state, "pretokenizers"):
        kind = part.get("type")
        if (
            kind in _SPLITS_AT_SPACES
            or (kind == "Metaspace" and part.get("split", True))
            or (kind == "ByteLevel" and part.get("use_regex", True))
            or (kind == "CharDelimiterSplit" and part.get("delimiter") == " ")
        ):
            # whether "w" at the start of a text and " w" after a space tokenize differently
            prefix_sensitive = (kind == "Metaspace" and part.get("prepend_scheme", "always") != "always") or (
                kind == "ByteLevel" and not part.get("add_prefix_space", True)
            )
            break
        if kind not in _LOCAL_SPLITTERS:
            detail = f"{kind}(split=False)" if kind == "Metaspace" else f"{kind}(use_regex=False)" if kind == "ByteLevel" else kind
            return f"its pre-tokenizer ({detail}) does not cut the text at every space, so its sub-words may span spaces"
    else:
        return f"its pre-tokenizer ({state.get('type')}) does not cut the text at every space"
    norm = backend.normalizer
    if norm is not None:
        nstate = _state(norm)
        if nstate is None:
            return f"its normalizer ({type(norm).__name__}) cannot be inspected"
        for part in _parts(nstate, "normalizers"):
            kind = part.get("type")
            if kind == "Prepend" or (kind == "Strip" and part.get("strip_left", True) and prefix_sensitive):
                return f"its normalizer ({kind}) changes the start of the text, where its pre-tokenizer marks a space"
            if kind == "Replace":
                pattern = part.get("pattern", {})
                text = pattern.get("String", "") or pattern.get("Regex", "")
                if (" " in text or "\\s" in text) and part.get("content") != " ":
                    return f"its normalizer replaces spaces ({text!r} -> {part.get('content')!r})"
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    swallowing = [tok.content for tok in added.values() if getattr(tok, "rstrip", False)]
    if swallowing and vocab:
        words = set(vocab)
        hit = next((content for content in swallowing if content in words), None)
        if hit is not None:
            return f"its added token {hit!r} swallows the space after it (rstrip)"
    return None


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        import warnings

        warnings.warn(message, UserWarning, stacklevel=4)


def _bert_boundary_char(char: str) -> bool:
    """Whether BERT's pre-tokenizer splits around ``char``: punctuation or a CJK ideograph."""
    import unicodedata

    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    if unicodedata.category(char).startswith("P"):
        return True
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F
    )  # fmt: skip


def _split_specials(full: list[int], bare: list[int]) -> tuple[list[int], list[int]]:
    """The special ids a tokenizer puts before and after a text's own ids."""
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return full[:i], full[i + len(bare) :]
    raise ConfigError("cannot tell the tokenizer's special tokens apart from the text's ids")


_emitters: dict[tuple[int, int, int], tuple[Any, list[str], TeacherIdEmitter]] = {}


def emitter_for(tokenizer: Any, vocab: list[str]) -> TeacherIdEmitter:
    """The emitter of ``tokenizer`` for ``vocab``, built once and reused (its tables are the costly part)."""
    key = (id(tokenizer), id(vocab), len(vocab))
    hit = _emitters.get(key)
    if hit is None:
        if len(_emitters) >= 4:
            _emitters.pop(next(iter(_emitters)))
        hit = (tokenizer, vocab, TeacherIdEmitter(tokenizer, vocab))  # keeps both alive: ids stay unique
        _emitters[key] = hit
    return hit[2]


def teacher_ids(synthetic: WordArrays, tokenizer: Any) -> TokenIds:
    """The input ids ``tokenizer(text)["input_ids"]`` would give for every example of
    ``synthetic`` (special tokens included, no truncation), built from its word arrays
    without tokenizing the texts: see :class:`TeacherIdEmitter`."""
    return emitter_for(tokenizer, synthetic.vocab).emit(synthetic)


def id_agreement(synthetic: Any, tokenizer: Any, sample: int = 10_000, seed: int = 0) -> "Agreement":
    """How often :func:`teacher_ids` equals the tokenizer's own output, on up to ``sample``
    examples of ``synthetic`` (a :class:`~kdtext.augment.synthetic.SyntheticSet`)."""
    n = len(synthetic)
    if n > sample:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    else:
        idx = np.arange(n)
    part = synthetic.subset(idx)
    emitted = teacher_ids(part, tokenizer)
    texts = part.texts()
    expected = tokenizer(texts)["input_ids"] if texts else []
    mismatches = [i for i in range(len(texts)) if emitted[i] != list(expected[i])]
    examples = [(texts[i], emitted[i], list(expected[i])) for i in mismatches[:5]]
    return Agreement(len(texts), len(texts) - len(mismatches), examples)


@dataclass(frozen=True)
class Agreement:
    """Result of :func:`id_agreement`: ``agree`` of ``n`` examples matched."""

    n: int
    agree: int
    mismatches: list[tuple[str, list[int], list[int]]]  # (text, emitted, tokenizer's), at most 5

    @property
    def rate(self) -> float:
        return self.agree / self.n if self.n else 1.0

    def __str__(self) -> str:
        return f"{self.agree:,}/{self.n:,} examples identical ({100 * self.rate:.2f}%)"
