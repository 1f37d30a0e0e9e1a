"""Training examples for the spaCy students, one batch at a time: from memory or read off disk.

The training loop (:func:`kdtext.default_plugins.spacy.training.train_textcat`) asks a
:class:`TrainingPool` for the examples at the positions of each step, in the epoch's random
order, and gets a :class:`Batch`: spaCy ``Example``\\s, their target rows and, per example,
any extra arrays that travel with it (for instance a teacher's sentence representation,
under a name the loss knows). Examples come from :class:`ExampleSource`\\s:

- :class:`ExampleList`: Examples built beforehand (the gold data; any list of Examples);
- :class:`DatasetExamples`: the rows of a :class:`kdtext.data.Dataset`, turned into Docs
  and Examples when a batch asks for them. Over a dataset held in memory the Examples are
  built once and kept; over one read off disk (a transfer set of a million examples whose
  words, targets and extras are memory-mapped shards) only the batch's are built, so memory
  stays flat whatever the set's size.

Both make the same Docs from the same rows, and the pool hands them out in the same order,
so training from disk gives the model that training from memory gives (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

#: The name under which each example's representation target (see :mod:`.representation`) travels in a batch.
REPRESENTATION = "representation"

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.training import Example

    from ...data import Dataset


@dataclass
class Batch:
    """The examples of one training step.

    ``targets`` is float32 ``(len(examples), n_labels)``: the rows the examples' reference
    ``cats`` hold. ``extras`` maps a name to a float32 array with one row per example
    (``(len(examples), ...)``); an example whose source lacks that array (a gold example
    beside teacher-labelled ones) has a row of NaN.
    """

    examples: list["Example"]
    targets: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.examples)


def make_docs(nlp: "Language", texts: Sequence[str], words: Sequence[Sequence[str]] | None, spaces: Sequence[Sequence[bool]] | None) -> list["Doc"]:
    """spaCy Docs for the texts: built straight from ``words``/``spaces`` when given, else tokenized."""
    from spacy.tokens import Doc

    if words is not None:
        if spaces is None:
            return [Doc(nlp.vocab, words=list(w)) for w in words]
        return [Doc(nlp.vocab, words=list(w), spaces=list(s)) for w, s in zip(words, spaces)]
    return list(nlp.tokenizer.pipe(texts, batch_size=1000))


def make_examples(docs: list["Doc"], targets: np.ndarray, labels: Sequence[str]) -> list["Example"]:
    """Training examples whose reference ``cats`` are the target rows.

    The predicted and the reference side share one Doc: the text categorizer reads only
    the reference ``cats`` and the predicted tokens, so a copy would only cost memory.
    """
    from spacy.training import Example

    examples = []
    for doc, row in zip(docs, targets.tolist()):
        doc.cats = dict(zip(labels, row))
        examples.append(Example(doc, doc))
    return examples


def weigh(examples: Sequence["Example"], weights: np.ndarray | None, key: str) -> None:
    """Give each example its loss weight, on its reference Doc (``user_data[key]``); ``weights`` None: none."""
    if weights is None:
        return
    for example, weight in zip(examples, weights.tolist()):
        example.reference.user_data[key] = weight


class ExampleSource:
    """Training examples by position: ``len(source)`` of them, ``source.batch(positions)`` a :class:`Batch`.

    Subclasses give :meth:`_take` (the examples and target rows at some positions); extra
    arrays, one row per example, are attached with :meth:`add_extra` and gathered here.
    """

    def __init__(self) -> None:
        self.extras: dict[str, Any] = {}

    def __len__(self) -> int:
        raise NotImplementedError

    def _take(self, idx: list[int]) -> tuple[list["Example"], np.ndarray]:
        raise NotImplementedError

    def add_extra(self, name: str, rows: Any) -> "ExampleSource":
        """Attach ``rows`` (an array, memory-mapped or not, with one row per example) under ``name``."""
        if len(rows) != len(self):
            raise ValueError(f"extra array {name!r} has {len(rows)} rows for {len(self)} examples")
        self.extras[name] = rows
        return self

    @property
    def extra_shapes(self) -> dict[str, tuple[int, ...]]:
        """name -> shape of one row, for each extra array."""
        return {name: tuple(np.shape(rows)[1:]) for name, rows in self.extras.items()}

    def batch(self, positions: np.ndarray) -> Batch:
        idx = np.asarray(positions, dtype=np.int64).tolist()
        examples, targets = self._take(idx)
        extras = {name: np.asarray(rows[idx], dtype=np.float32) for name, rows in self.extras.items()}
        return Batch(examples, targets, extras)

    def head(self, k: int) -> list["Example"]:
        """The first ``k`` examples (to initialise a model from)."""
        return self._take(list(range(min(k, len(self)))))[0]


class ExampleList(ExampleSource):
    """Examples built beforehand; their targets are read back from their reference ``cats``."""

    def __init__(self, examples: Sequence["Example"], labels: Sequence[str]):
        super().__init__()
        self.examples = list(examples)
        self.labels = list(labels)
        self.targets = np.asarray([[ex.reference.cats.get(label, 0.0) for label in self.labels] for ex in self.examples],
                                  dtype=np.float32).reshape(len(self.examples), len(self.labels))  # fmt: skip

    def __len__(self) -> int:
        return len(self.examples)

    def _take(self, idx: list[int]) -> tuple[list["Example"], np.ndarray]:
        return [self.examples[i] for i in idx], self.targets[idx]


class DatasetExamples(ExampleSource):
    """The rows of a :class:`~kdtext.data.Dataset` as training examples, built into Docs when asked.

    Docs come from the dataset's ``words``/``spaces`` when it has them, else from its texts
    through ``nlp``'s tokenizer (as :func:`make_docs` does). ``weights`` (one per row, or
    None) go to each Example's reference Doc under ``weight_key`` (the soft text
    categorizer's per-example loss weights). With ``keep`` the Examples are built once, on
    first use, and kept (for datasets held in memory); without it a batch's are built for
    that batch.
    """

    def __init__(
        self,
        nlp: "Language",
        dataset: "Dataset",
        labels: Sequence[str],
        *,
        keep: bool = False,
        weights: np.ndarray | None = None,
        weight_key: str = "",
    ):
        super().__init__()
        self.nlp = nlp
        self.dataset = dataset
        self.labels = list(labels)
        self.keep = keep
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self.weight_key = weight_key
        self._kept: list["Example"] | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def _targets(self, idx: list[int]) -> np.ndarray:
        return np.asarray(self.dataset.targets[idx], dtype=np.float32).reshape(len(idx), len(self.labels))

    def _build(self, idx: list[int]) -> list["Example"]:
        data = self.dataset
        words = None if data.words is None else [data.words[i] for i in idx]
        spaces = None if data.spaces is None else [data.spaces[i] for i in idx]
        texts = [] if words is not None else [data.texts[i] for i in idx]
        examples = make_examples(make_docs(self.nlp, texts, words, spaces), self._targets(idx), self.labels)
        weigh(examples, None if self.weights is None else self.weights[idx], self.weight_key)
        return examples

    def _take(self, idx: list[int]) -> tuple[list["Example"], np.ndarray]:
        if not self.keep:
            return self._build(idx), self._targets(idx)
        if self._kept is None:
            self._kept = self._build(list(range(len(self))))
        return [self._kept[i] for i in idx], self._targets(idx)


class MappedRows:
    """``fn(rows[idx])`` for the rows asked for: an array transformed a batch at a time, never whole.

    For extra arrays derived from a memory-mapped one (a teacher's representations reduced
    by PCA) whose result would not fit in memory; ``fn`` must work row by row.
    """

    def __init__(self, rows: Any, fn: Any, width: int):
        self.rows, self.fn = rows, fn
        self.shape = (len(rows), int(width))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: Any) -> np.ndarray:
        return np.asarray(self.fn(np.asarray(self.rows[idx])), dtype=np.float32)


def in_memory(dataset: "Dataset") -> bool:
    """Whether ``dataset``'s rows are Python lists (else rows read off disk when asked, e.g. :class:`kdtext.data.RowView`)."""
    return isinstance(dataset.texts, list) and all(rows is None or isinstance(rows, list) for rows in (dataset.words, dataset.spaces))


class TrainingPool:
    """Sources one after another, each repeated some number of times: what one epoch sees.

    Position ``p`` of the pool is, for the source ``s`` whose range holds it, example
    ``(p - start_s) % len(s)`` of ``s`` (a source repeated ``r`` times fills ``r * len(s)``
    positions, as ``examples * r`` would). :meth:`batch` keeps the order of the positions
    it is given, so an epoch's batches are the same whatever the sources' kind.
    """

    def __init__(self, parts: Sequence[tuple[ExampleSource, int]]):
        self.parts = [(source, int(repeats)) for source, repeats in parts if len(source) and repeats > 0]
        sizes = [len(source) * repeats for source, repeats in self.parts]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        shapes: dict[str, tuple[int, ...]] = {}
        for source, _ in self.parts:
            for name, shape in source.extra_shapes.items():
                if shapes.setdefault(name, shape) != shape:
                    raise ValueError(f"extra array {name!r} has rows of shape {shape} in one source and {shapes[name]} in another")
        self.extra_shapes = shapes

    def __len__(self) -> int:
        return int(self.starts[-1])

    def batch(self, positions: np.ndarray) -> Batch:
        positions = np.asarray(positions, dtype=np.int64)
        which = np.searchsorted(self.starts, positions, side="right") - 1
        examples: list[Any] = [None] * positions.shape[0]
        n_labels = None
        pieces: list[tuple[np.ndarray, Batch]] = []
        for k, (source, _) in enumerate(self.parts):
            at = np.flatnonzero(which == k)
            if not at.size:
                continue
            part = source.batch((positions[at] - self.starts[k]) % len(source))
            for j, example in zip(at.tolist(), part.examples):
                examples[j] = example
            pieces.append((at, part))
            n_labels = part.targets.shape[1]
        targets = np.zeros((positions.shape[0], n_labels or 0), dtype=np.float32)
        extras = {name: np.full((positions.shape[0], *shape), np.nan, dtype=np.float32) for name, shape in self.extra_shapes.items()}
        for at, part in pieces:
            targets[at] = part.targets
            for name, rows in part.extras.items():
                extras[name][at] = rows
        return Batch(examples, targets, extras)

    def head(self, k: int) -> list["Example"]:
        """The first ``k`` examples of each source (to initialise a model from every kind of example)."""
        return [example for source, _ in self.parts for example in source.head(k)]
