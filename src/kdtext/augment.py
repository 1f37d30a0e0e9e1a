"""Synthetic examples as word-id arrays, the engine that makes them, and the plain Python API.

Quick use, without the CLI::

    from kdtext.augment import augment

    for example in augment(["A gripping, well-acted thriller.", "Dull and far too long."],
                           augmenter="tang", n=50, seed=0, lang="en"):
        print(example.source, example.text)

Inside a pipeline, keep the arrays::

    from kdtext.corpus import TokenizedCorpus
    from kdtext.augment import augment_corpus

    corpus = TokenizedCorpus.from_texts(train_texts + pool_texts, lang="en")
    synthetic = augment_corpus(corpus, "tang", n=60_000, seed=0, mask_token="[MASK]")
    synthetic.texts()                      # list[str]
    synthetic.to_words_spaces()            # words and whitespace flags, for spaCy Docs
    synthetic.teacher_ids(tokenizer)       # the teacher's input ids, no re-tokenizing
    synthetic.save("synthetic.npz"); SyntheticSet.load("synthetic.npz")

How many examples. Augmenters work in rounds: in round ``r`` every source document
(of two tokens or more) gives at most one example, from its own random stream seeded by
(seed, global document index, r). Examples are kept in (round, document) order; with
``unique`` set, duplicates and exact copies of any source document are dropped. Rounds
continue until ``n`` examples are kept or ``n_iter`` rounds are done, so a run gives
``min(n, what n_iter rounds can give)`` examples. The output does not depend on how the
corpus is split into shards: :meth:`SyntheticSet.merge` of per-shard sets equals the
set of the whole corpus.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from .errors import ConfigError, KdtextError

if TYPE_CHECKING:
    from .corpus import TokenizedCorpus
    from .data import Dataset
    from .labels import LabelSpace

#: Documents with fewer tokens than this are not augmented (and are counted as skipped).
MIN_TOKENS = 2


class AugmentedExample(NamedTuple):
    """One synthetic example: its text, its tokens, and the index of the text it came from."""

    text: str
    words: list[str]
    spaces: list[bool]
    source: int
    augmenter: str


# -- the synthetic set -------------------------------------------------------------------------


@dataclass
class SyntheticSet:
    """Synthetic examples as flat arrays over a vocabulary.

    Example ``i`` is tokens ``offsets[i]:offsets[i+1]`` of ``words`` (int32 ids into
    ``vocab``) and ``spaces`` (uint8, 1 if whitespace follows). ``source[i]`` is the
    global index of the corpus document it was made from (the position of the input text)
    and ``rounds[i]`` the round that made it. ``skipped`` counts source documents that
    could not be augmented, by reason; ``notes`` are messages for the user.
    """

    vocab: list[str]
    words: np.ndarray
    spaces: np.ndarray
    offsets: np.ndarray
    source: np.ndarray
    rounds: np.ndarray
    augmenter: str = ""
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.words = np.ascontiguousarray(self.words, dtype=np.int32)
        self.spaces = np.ascontiguousarray(self.spaces, dtype=np.uint8)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int64)
        self.source = np.ascontiguousarray(self.source, dtype=np.int64)
        self.rounds = np.ascontiguousarray(self.rounds, dtype=np.int32)
        n = self.offsets.shape[0] - 1
        if n < 0 or self.source.shape[0] != n or self.rounds.shape[0] != n or self.words.shape != self.spaces.shape:
            raise ValueError("inconsistent SyntheticSet arrays")
        self._strings: list[str] | None = None

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def n_tokens(self) -> int:
        return int(self.words.shape[0])

    def lengths(self) -> np.ndarray:
        """Tokens per example, int64."""
        return np.diff(self.offsets)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def empty(cls, vocab: list[str], augmenter: str = "") -> "SyntheticSet":
        return cls(vocab, np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(1, np.int64),
                   np.zeros(0, np.int64), np.zeros(0, np.int32), augmenter)  # fmt: skip

    @classmethod
    def from_word_ids(
        cls,
        corpus: "TokenizedCorpus",
        examples: Iterable[Sequence[int]],
        sources: Iterable[int],
        augmenter: str = "",
        spaces: Iterable[Sequence[bool]] | None = None,
    ) -> "SyntheticSet":
        """A set from lists of word ids of ``corpus.vocab`` (for plugin augmenters written in Python).

        ``sources`` are the corpus documents (local indices) the examples come from.
        Without ``spaces``, words are separated by single spaces.
        """
        rows = [np.asarray(list(e), dtype=np.int32) for e in examples]
        src = np.asarray(list(sources), dtype=np.int64) + corpus.doc_base
        if src.shape[0] != len(rows):
            raise ConfigError(f"{len(rows)} examples but {src.shape[0]} sources")
        lengths = np.asarray([r.shape[0] for r in rows], dtype=np.int64)
        words = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        if words.size and (words.min() < 0 or words.max() >= len(corpus.vocab)):
            raise ConfigError("word ids must index the corpus vocabulary")
        if spaces is None:
            flags = np.ones(words.shape[0], np.uint8)
        else:
            flags = np.concatenate([np.asarray(list(s), dtype=np.uint8) for s in spaces] or [np.zeros(0, np.uint8)])
            if flags.shape != words.shape:
                raise ConfigError("spaces must give one flag per word")
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flags[offsets[1:][lengths > 0] - 1] = 0
        return cls(corpus.vocab, words, flags, offsets, src, np.zeros(len(rows), np.int32), augmenter)

    @classmethod
    def concat(cls, parts: Sequence["SyntheticSet"]) -> "SyntheticSet":
        """The examples of ``parts`` one after another.

        Parts made from one corpus share its vocabulary, except that masking adds the mask
        token to it; word ids are remapped onto one vocabulary that holds every part's words
        (the first part's ids unchanged), so ``mask`` and ``ngram`` sets can be joined.
        """
        if not parts:
            raise ConfigError("nothing to concatenate")
        vocab = parts[0].vocab
        words = [parts[0].words]
        index: dict[str, int] | None = None
        for part in parts[1:]:
            if part.vocab is vocab or part.vocab == vocab:
                words.append(part.words)
                continue
            if index is None:
                vocab = list(vocab)
                index = {w: i for i, w in enumerate(vocab)}
            remap = np.fromiter((index.setdefault(w, len(index)) for w in part.vocab), dtype=np.int32, count=len(part.vocab))
            vocab.extend(list(index)[len(vocab) :])
            words.append(remap[part.words] if len(part.words) else part.words)
        lengths = np.concatenate([p.lengths() for p in parts])
        skipped: dict[str, int] = {}
        for p in parts:
            for k, v in p.skipped.items():
                skipped[k] = skipped.get(k, 0) + v
        notes = list(dict.fromkeys(note for p in parts for note in p.notes))
        return cls(
            vocab,
            np.concatenate(words),
            np.concatenate([p.spaces for p in parts]),
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            np.concatenate([p.source for p in parts]),
            np.concatenate([p.rounds for p in parts]),
            parts[0].augmenter,
            parts[0].seed,
            dict(parts[0].params),
            skipped,
            notes,
        )

    @classmethod
    def merge(
        cls,
        parts: Sequence["SyntheticSet"],
        n: int | None = None,
        *,
        exclude: "TokenizedCorpus | np.ndarray | None" = None,
        unique: bool = True,
    ) -> "SyntheticSet":
        """Join per-shard sets into the set the whole corpus would give.

        Examples are ordered by (round, source); with ``unique``, duplicates across shards
        and copies of the documents of ``exclude`` (a corpus, or uint64 hashes) are dropped;
        then the first ``n`` are kept. Run each shard with ``n=None`` so no shard stops early.
        """
        whole = cls.concat(parts)
        order = np.lexsort((np.arange(len(whole)), whole.source, whole.rounds))
        whole = whole.subset(order)
        if unique:
            from . import _fast

            seen = _fast.HashSet(len(whole))
            if exclude is not None:
                seen.add_new(exclude.doc_hashes() if not isinstance(exclude, np.ndarray) else exclude)
            whole = whole.subset(np.flatnonzero(seen.add_new(whole.hashes())))
        if n is not None and len(whole) > n:
            whole = whole.subset(np.arange(n))
        return whole

    def subset(self, indices: Sequence[int] | np.ndarray) -> "SyntheticSet":
        """The examples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        lengths = self.lengths()[idx]
        starts = self.offsets[:-1][idx]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        return SyntheticSet(
            self.vocab, self.words[gather], self.spaces[gather], offsets, self.source[idx], self.rounds[idx],
            self.augmenter, self.seed, dict(self.params), dict(self.skipped), list(self.notes),
        )  # fmt: skip

    def hashes(self) -> np.ndarray:
        """The kernels' 64-bit hash of each example (uint64): equal hashes, equal texts."""
        from . import _fast

        return _fast.hash_spans(self.words, self.spaces, self.offsets)

    # -- texts and tokens ------------------------------------------------------------------

    def _token_strings(self) -> list[str]:
        # index 2*w + space -> the word with or without its trailing space
        if self._strings is None or len(self._strings) != 2 * len(self.vocab):
            strings: list[str] = []
            for word in self.vocab:
                strings.append(word)
                strings.append(word + " ")
            self._strings = strings
        return self._strings

    def text(self, i: int) -> str:
        """Example ``i`` as text: its words joined by their whitespace."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        table = self._token_strings()
        codes = (self.words[a:b].astype(np.int64) * 2 + self.spaces[a:b]).tolist()
        return "".join([table[c] for c in codes])

    def iter_texts(self) -> Iterator[str]:
        table = self._token_strings()
        codes = (self.words.astype(np.int64) * 2 + self.spaces).tolist()
        offsets = self.offsets.tolist()
        for i in range(len(self)):
            yield "".join([table[c] for c in codes[offsets[i] : offsets[i + 1]]])

    def texts(self) -> list[str]:
        """All examples as texts."""
        return list(self.iter_texts())

    def words_spaces(self, i: int) -> tuple[list[str], list[bool]]:
        """Example ``i``'s words and whitespace flags (build a spaCy ``Doc`` from them directly)."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return [self.vocab[w] for w in self.words[a:b].tolist()], [bool(s) for s in self.spaces[a:b].tolist()]

    def to_words_spaces(self) -> tuple[list[list[str]], list[list[bool]]]:
        """Words and whitespace flags of every example."""
        vocab = self.vocab
        words = [vocab[w] for w in self.words.tolist()]
        spaces = self.spaces.astype(bool).tolist()
        offsets = self.offsets.tolist()
        return (
            [words[offsets[i] : offsets[i + 1]] for i in range(len(self))],
            [spaces[offsets[i] : offsets[i + 1]] for i in range(len(self))],
        )

    def __iter__(self) -> Iterator[AugmentedExample]:
        words, spaces = self.to_words_spaces()
        for i, text in enumerate(self.iter_texts()):
            yield AugmentedExample(text, words[i], spaces[i], int(self.source[i]), self.augmenter)

    def rows(self) -> Iterator[dict[str, Any]]:
        """JSONL rows ``{"text", "source", "augmenter"}``, as ``kdtext augment`` writes them."""
        sources = self.source.tolist()
        for i, text in enumerate(self.iter_texts()):
            yield {"text": text, "source": sources[i], "augmenter": self.augmenter}

    def to_dataset(
        self, targets: np.ndarray, label_space: "LabelSpace", *, soft: bool = True, source: str | None = None
    ) -> "Dataset":
        """A :class:`kdtext.data.Dataset` of these examples with ``targets`` (one row each),
        carrying words and spaces so that students need not re-tokenize."""
        from .data import Dataset

        words, spaces = self.to_words_spaces()
        return Dataset(self.texts(), targets, label_space, soft=soft, words=words, spaces=spaces, source=source)

    # -- teacher ids -----------------------------------------------------------------------

    def teacher_ids(self, tokenizer: Any) -> "TokenIds":
        """The input ids ``tokenizer(text)["input_ids"]`` would give for every example
        (special tokens included, no truncation), built from word arrays without tokenizing
        the texts: see :class:`TeacherIdEmitter`."""
        return emitter_for(tokenizer, self.vocab).emit(self)

    def id_agreement(self, tokenizer: Any, sample: int = 10_000, seed: int = 0) -> "Agreement":
        """How often :meth:`teacher_ids` equals the tokenizer's own output, on up to ``sample`` examples."""
        n = len(self)
        if n > sample:
            idx = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
        else:
            idx = np.arange(n)
        part = self.subset(idx)
        emitted = part.teacher_ids(tokenizer)
        texts = part.texts()
        expected = tokenizer(texts)["input_ids"] if texts else []
        mismatches = [i for i in range(len(texts)) if emitted[i] != list(expected[i])]
        examples = [(texts[i], emitted[i], list(expected[i])) for i in mismatches[:5]]
        return Agreement(len(texts), len(texts) - len(mismatches), examples)

    # -- saving ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the set to one ``.npz`` file (arrays, vocabulary and metadata), atomically."""
        from .io import atomic_write

        meta = {
            "format": "kdtext-synthetic",
            "version": 1,
            "augmenter": self.augmenter,
            "seed": self.seed,
            "params": self.params,
            "skipped": self.skipped,
            "notes": self.notes,
        }
        with atomic_write(path, "wb") as handle:
            np.savez(
                handle,
                words=self.words,
                spaces=self.spaces,
                offsets=self.offsets,
                source=self.source,
                rounds=self.rounds,
                vocab=np.frombuffer(json.dumps(self.vocab, ensure_ascii=False).encode("utf-8"), np.uint8),
                meta=np.frombuffer(json.dumps(meta, default=str).encode("utf-8"), np.uint8),
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SyntheticSet":
        """Read a set written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise KdtextError(f"{path}: file does not exist") from None
        except (OSError, ValueError) as exc:
            raise KdtextError(f"{path}: not a kdtext synthetic set ({exc})") from None
        try:
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
            vocab = json.loads(arrays["vocab"].tobytes().decode("utf-8"))
            if meta.get("format") != "kdtext-synthetic":
                raise KeyError("format")
            return cls(
                vocab, arrays["words"], arrays["spaces"], arrays["offsets"], arrays["source"], arrays["rounds"],
                meta["augmenter"], meta["seed"], meta["params"], meta["skipped"], meta["notes"],
            )  # fmt: skip
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            raise KdtextError(f"{path}: not a kdtext synthetic set (damaged: {exc})") from None


@dataclass(frozen=True)
class Agreement:
    """Result of :meth:`SyntheticSet.id_agreement`: ``agree`` of ``n`` examples matched."""

    n: int
    agree: int
    mismatches: list[tuple[str, list[int], list[int]]]  # (text, emitted, tokenizer's), at most 5

    @property
    def rate(self) -> float:
        return self.agree / self.n if self.n else 1.0

    def __str__(self) -> str:
        return f"{self.agree:,}/{self.n:,} examples identical ({100 * self.rate:.2f}%)"


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

    def emit(self, synthetic: SyntheticSet) -> TokenIds:
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
        from . import _fast

        ids, out_off_seg = _fast.gather_rows(self._table_ids, self._table_off, seg)
        seg_per_ex = chunks_per_ex + 2
        seg_ex_off = np.concatenate([[0], np.cumsum(seg_per_ex)])
        return TokenIds(ids.astype(np.int32, copy=False), out_off_seg[seg_ex_off].astype(np.int64))

    def _retokenize(self, synthetic: SyntheticSet, batch: int = 8192) -> TokenIds:
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
    from . import _fast

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


# -- the plain Python API ----------------------------------------------------------------------


def needs_tags(augmenter: Any) -> bool:
    """Whether an augmenter instance needs a POS-tagged corpus (plugins without the attribute: yes, if one exists)."""
    return bool(getattr(augmenter, "needs_tags", True))


def make_augmenter(name: str, **params: Any) -> Any:
    """The augmenter registered as ``name``, built with ``params`` (errors list what exists)."""
    from . import plugins

    return plugins.get_augmenter(name)(**params)


def augment_corpus(corpus: "TokenizedCorpus", augmenter: str = "tang", n: int | None = None, seed: int = 0, **params: Any) -> SyntheticSet:
    """``n`` synthetic examples (``None``: as many as ``n_iter`` rounds give) made from ``corpus``."""
    aug = make_augmenter(augmenter, **params)
    return aug.augment(corpus, n, seed=seed)


def build_corpus(texts: Iterable[Any], lang: str = "en", augmenter: Any = None, **kwargs: Any) -> "TokenizedCorpus":
    """A corpus tagged only if ``augmenter`` (an instance) needs tags: the best tagger for ``lang``."""
    from .corpus import TokenizedCorpus, check_language

    check_language(lang)
    if "tagger" not in kwargs:
        if augmenter is not None and not needs_tags(augmenter):
            kwargs["tagger"] = None
        elif augmenter is not None and getattr(augmenter, "requires_tags", False):
            from .default_plugins.taggers import tagger_for

            kwargs["tagger"] = tagger_for(lang)  # a clear error when the language has no tagger
        else:
            kwargs["tagger"] = "auto"
    return TokenizedCorpus.from_texts(texts, lang=lang, **kwargs)


def augment(
    texts: Iterable[Any],
    augmenter: str = "tang",
    n: int | None = None,
    seed: int = 0,
    lang: str = "en",
    **params: Any,
) -> Iterator[AugmentedExample]:
    """Augment texts (strings or spaCy ``Doc``\\s): an iterator of :class:`AugmentedExample`.

    ``source`` of each example is the position of its text in ``texts``. ``params`` are
    the augmenter's parameters (``p_mask``, ``p_pos``, ``p_ng``, ``n_min``, ``n_max``,
    ``n_iter``, ``mask_token``, ``unique``). Same inputs and seed, same examples.
    """
    aug = make_augmenter(augmenter, **params)
    corpus = build_corpus(texts, lang, aug)
    synthetic = aug.augment(corpus, n, seed=seed)
    return iter(synthetic)


def read_source_texts(path: str | os.PathLike, text_field: str = "text", max_chars: int | None = None) -> tuple[list[str], list[int]]:
    """Texts and their line numbers from a JSONL or CSV file, for augmentation.

    A missing or non-string field, invalid UTF-8 or a text over ``max_chars`` characters
    is a :class:`kdtext.errors.DataError` naming the file and line. Empty texts are kept
    (as documents of no tokens, which augmenters skip and count), so indices match lines.
    """
    from pathlib import Path

    from .corpus import MAX_CHARS
    from .data import iter_records
    from .errors import DataError

    limit = MAX_CHARS if max_chars is None else max_chars
    path = Path(path)
    texts: list[str] = []
    lines: list[int] = []
    for record in iter_records(path):
        if text_field not in record.data:
            raise DataError(path, record.line, f"missing {text_field!r} field")
        text = record.data[text_field]
        if not isinstance(text, str):
            raise DataError(path, record.line, f"{text_field!r} must be a string, got {type(text).__name__}")
        if len(text) > limit:
            raise DataError(
                path, record.line,
                f"text is {len(text):,} characters long, over the limit of {limit:,}; split long documents into paragraphs first",
            )  # fmt: skip
        texts.append(text)
        lines.append(record.line)
    if not texts:
        raise DataError(path, None, "no texts in the file")
    return texts, lines


def augment_file(
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    augmenter: str = "tang",
    n: int | None = None,
    seed: int = 0,
    lang: str = "en",
    tagger: str = "auto",
    params: dict[str, Any] | None = None,
    text_field: str = "text",
    progress: bool = False,
    engine: Any = None,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """What ``kdtext augment`` does: read texts, augment them, write JSONL atomically.

    ``engine`` (see :mod:`kdtext.engine`) runs the augmentation itself, e.g. on Ray;
    the file is the same for the same seed. ``n`` sizes the rounds (:func:`kdtext.rounds.augment_n`).
    With ``cache_dir``, texts tokenized and tagged by an earlier call are loaded from
    there (see :meth:`TokenizedCorpus.from_texts`). Returns a summary: counts, skipped
    texts by reason, notes, seconds, ``engine`` (its throughput figures, or None when run
    here) and ``line`` (the one-line summary for people).
    """
    import time

    start = time.perf_counter()
    aug = make_augmenter(augmenter, **(params or {}))
    texts, lines = read_source_texts(input_path, text_field)
    kwargs: dict[str, Any] = {"source": str(input_path), "lines": lines, "cache_dir": cache_dir}
    if tagger != "auto":
        kwargs["tagger"] = tagger if needs_tags(aug) else None
    from .corpus import check_language

    check_language(lang)
    if getattr(aug, "requires_tags", False):
        from .default_plugins.taggers import tagger_for

        kwargs["tagger"] = tagger_for(lang, tagger)
    bar = _progress(progress, len(texts), "tokenizing")
    try:
        corpus = build_corpus(texts, lang, aug, progress=bar.update if bar else None, **kwargs)
    finally:
        if bar:
            bar.close()
    from .rounds import augment_n
    from .synthetic_jsonl import write_synthetic_jsonl

    synthetic, figures = augment_n(corpus, augmenter, params or {}, n, seed=seed, engine=engine)
    bar = _progress(progress, len(synthetic), "writing")
    try:
        count = write_synthetic_jsonl(synthetic, output, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    seconds = time.perf_counter() - start
    skipped = dict(synthetic.skipped)
    n_skipped = sum(skipped.values())
    asked = f" (of the {n:,} asked for: these texts give no more distinct ones)" if n is not None and count < n else ""
    line = (
        f"wrote {count:,} examples{asked} from {len(texts):,} texts to {output} "
        f"(augmenter {augmenter}, seed {seed}, "
        + (f"engine {engine.name} on {figures.get('workers', 1)} workers, " if engine is not None else "")
        + f"{seconds:.1f} s)"
    )
    if n_skipped:
        line += f"; skipped {n_skipped:,} texts: " + ", ".join(f"{v:,} {k.replace('_', '-')}" for k, v in skipped.items())
    else:
        line += "; skipped 0 texts"
    return {
        "examples": count,
        "texts": len(texts),
        "skipped": skipped,
        "notes": list(synthetic.notes),
        "seconds": seconds,
        "engine": figures,
        "line": line,
    }


def _progress(enabled: bool, total: int, desc: str) -> Any:
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" texts" if desc == "tokenizing" else " examples", file=sys.stderr, leave=False)
