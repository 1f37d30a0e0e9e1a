"""Reading labelled, unlabelled and soft-labelled examples from JSONL and CSV files.

Every problem is reported as a :class:`kdtext.errors.DataError` naming the file and
line. Files are streamed: a record is decoded when it is reached, so a corpus of
millions of lines is never held twice.

Formats, chosen by suffix (``.jsonl``/``.ndjson``/``.json`` or ``.csv``/``.tsv``):

* JSONL: one object per line, ``{"text": "...", "label": "pos"}``; ``label`` may be a
  list of strings for multi-label tasks. Soft labels: ``{"text": ..., "probs": {"pos": 0.8, "neg": 0.2}}``.
* CSV/TSV with a header row; a multi-label ``label`` cell holds a JSON list.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .errors import DataError
from .labels import LabelSpace

JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
CSV_SUFFIXES = {".csv", ".tsv"}
#: Tolerance for single-label probability rows that must sum to 1.
SUM_TOLERANCE = 1e-3
#: The ``format`` of a folder of soft-label Parquet shards (``kdtext label --engine ray`` writes it,
#: :func:`read_soft_label_shards` reads it).
SHARDS_FORMAT = "kdtext-soft-labels"


@dataclass
class Record:
    """One input row: its 1-based line number in the file and its fields."""

    line: int
    data: dict[str, Any]


def _decoded_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Lines of a UTF-8 file (BOM and CRLF allowed), numbered from 1."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise DataError(path, None, "file does not exist") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, not a file") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            elif number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise DataError(path, 1, "the file is UTF-16 (or UTF-32) encoded; re-save it as UTF-8")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    path, number, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); re-save the file as UTF-8"
                ) from None


def _check_encodable(path: Path, line: int, data: dict[str, Any]) -> None:
    """A ``\\uD800``-style escape decodes to a lone surrogate, which no file can hold: reject it here."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(path, line, "a \\u escape encodes half of a surrogate pair, not a character (invalid Unicode)") from None


def file_format(path: str | os.PathLike) -> str:
    """``"jsonl"`` or ``"csv"``, from the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise DataError(path, None, f"unknown file type {suffix!r}: use .jsonl or .csv")


def iter_records(path: str | os.PathLike) -> Iterator[Record]:
    """Stream the rows of a JSONL or CSV file, skipping blank lines."""
    path = Path(path)
    if file_format(path) == "jsonl":
        for number, line in _decoded_lines(path):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
            except RecursionError:
                raise DataError(path, number, "invalid JSON: nested too deeply") from None
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                raise DataError(path, number, f"invalid JSON: {str(exc).splitlines()[0]}") from None
            if not isinstance(data, dict):
                raise DataError(path, number, f"expected a JSON object, got {type(data).__name__}")
            if "\\u" in line:
                _check_encodable(path, number, data)
            yield Record(number, data)
        return
    csv.field_size_limit(sys.maxsize)
    lines = (line for _, line in _decoded_lines(path))
    first = next(lines, None)
    if first is None:
        return
    delimiter = _delimiter(path, first)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise DataError(path, 1, f"invalid CSV header: {exc}") from None
    header = [name.strip() for name in header]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(path, reader.line_num, f"invalid CSV: {exc}") from None
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(path, reader.line_num, f"expected {len(header)} columns as in the header, got {len(row)}")
        yield Record(reader.line_num, dict(zip(header, row)))


def _delimiter(path: Path, header: str) -> str:
    """The delimiter of a CSV/TSV file: tab for .tsv, a comma for .csv, unless its header has no
    comma but a semicolon or a tab (a spreadsheet's export in many locales): then that one, said once."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    if "," in header:
        return ","
    found = next((d for d in (";", "\t") if d in header), None)
    if found is None:
        return ","
    if str(path) not in _noted:
        _noted.add(str(path))
        shown = "tab" if found == "\t" else repr(found)
        print(f"kdtext: note: {path}: the header has no comma but a {shown}: reading the file as {shown}-separated", file=sys.stderr)
    return found


#: CSV files whose sniffed delimiter was already said (once per process)
_noted: set[str] = set()


def _text_of(path: Path, record: Record, text_field: str) -> str:
    if text_field not in record.data:
        raise DataError(path, record.line, f"missing {text_field!r} field")
    text = record.data[text_field]
    if not isinstance(text, str):
        raise DataError(path, record.line, f"{text_field!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise DataError(path, record.line, f"empty {text_field!r}")
    return text


def _json_kind(value: Any) -> str | None:
    """``"number"`` or ``"string"``: what a JSON label (or each of a list's) was written as."""
    items = value if isinstance(value, list) else [value]
    kinds = {"number" if isinstance(v, int) and not isinstance(v, bool) else "string" for v in items if isinstance(v, (int, str))}
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None)


def _label_of(path: Path, record: Record, label_field: str, csv_file: bool) -> str | tuple[str, ...]:
    if label_field not in record.data:
        raise DataError(path, record.line, f"missing {label_field!r} field")
    value = record.data[label_field]
    if csv_file and isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(path, record.line, f"{label_field!r} looks like a JSON list but is not valid JSON") from None
    if isinstance(value, bool) or value is None or isinstance(value, (float, dict)):
        raise DataError(path, record.line, f"{label_field!r} must be a string or a list of strings, got {json.dumps(value)}")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise DataError(path, record.line, f"empty {label_field!r}")
        return value
    if isinstance(value, list):
        labels = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise DataError(path, record.line, f"{label_field!r} list must hold strings, got {json.dumps(item)}")
            labels.append(str(item).strip())
            if not labels[-1]:
                raise DataError(path, record.line, f"empty label in the {label_field!r} list")
        return tuple(sorted(set(labels)))
    raise DataError(path, record.line, f"{label_field!r} must be a string or a list of strings")


class RowView(Sequence[Any]):
    """A read-only sequence of ``n`` rows, each made by ``get(i)`` when asked.

    For the texts, words or spaces of a data set too large to hold as lists (a transfer
    set of a million synthetic examples read off memory-mapped arrays): a :class:`Dataset`
    takes one wherever it takes a list. Slices and :meth:`chain` are views too.
    """

    def __init__(self, n: int, get: Callable[[int], Any]):
        self._n = int(n)
        self._get = get

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            picked = range(self._n)[i]
            return RowView(len(picked), lambda j: self._get(picked[j]))
        i = int(i)
        if not -self._n <= i < self._n:
            raise IndexError(f"row {i} out of range for {self._n} rows")
        return self._get(i % self._n)

    @staticmethod
    def chain(first: Sequence[Any], second: Sequence[Any]) -> Sequence[Any]:
        """``first`` then ``second``: a list when both are lists, else a view of both."""
        if isinstance(first, list) and isinstance(second, list):
            return first + second
        n = len(first)
        return RowView(n + len(second), lambda i: first[i] if i < n else second[i - n])


@dataclass
class Dataset:
    """Texts with target rows over a label space.

    ``targets`` is float32 ``(len(texts), len(label_space))``: one-/multi-hot rows for
    gold data (``soft=False``), probabilities for teacher labels (``soft=True``).
    ``words``/``spaces``, when set, hold each text already tokenized (as the
    augmentation engine produces it), so students need not re-tokenize. ``texts``,
    ``words`` and ``spaces`` may be :class:`RowView`\\s and ``targets`` a memory-mapped
    array: a transfer set read off disk as it is used.
    ``lines`` are the source file's line numbers, for error messages.
    ``label_kinds`` says how a JSONL file wrote its labels: ``{"number"}``, ``{"string"}`` or
    both (numbers are read as the label names ``"0"``, ``"1"``...; :func:`label_warnings`).
    ``reps``, when set, holds the teacher's sentence representation of each text (float,
    ``(len(texts), width)``; NaN rows where there is none), for students that learn it as
    well as the labels.
    """

    texts: list[str]
    targets: np.ndarray
    label_space: LabelSpace
    soft: bool = False
    words: list[list[str]] | None = None
    spaces: list[list[bool]] | None = None
    source: str | None = None
    lines: list[int] | None = field(default=None, repr=False)
    reps: np.ndarray | None = field(default=None, repr=False)
    label_kinds: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        self.targets = np.asarray(self.targets, dtype=np.float32)
        if self.targets.shape != (len(self.texts), len(self.label_space)):
            raise ValueError(
                f"targets have shape {self.targets.shape}, expected {(len(self.texts), len(self.label_space))}"
            )
        if self.reps is not None and (np.ndim(self.reps) != 2 or len(self.reps) != len(self.texts)):
            raise ValueError(f"reps have shape {np.shape(self.reps)}, expected ({len(self.texts)}, width)")

    def __len__(self) -> int:
        return len(self.texts)

    def where(self, index: int) -> str:
        """``file:line`` of example ``index`` where known, for error messages."""
        if self.source and self.lines:
            return f"{self.source}:{self.lines[index]}"
        return f"example {index}"

    def gold_labels(self) -> list[str | tuple[str, ...]]:
        """Each row's label (argmax, or the labels over 0.5 for multi-label)."""
        return [self.label_space.decode(row) for row in self.targets]

    def subset(self, indices: Sequence[int] | np.ndarray) -> "Dataset":
        idx = [int(i) for i in indices]
        return Dataset(
            texts=[self.texts[i] for i in idx],
            targets=self.targets[idx] if idx else np.zeros((0, len(self.label_space)), np.float32),
            label_space=self.label_space,
            soft=self.soft,
            words=None if self.words is None else [self.words[i] for i in idx],
            spaces=None if self.spaces is None else [self.spaces[i] for i in idx],
            source=self.source,
            lines=None if self.lines is None else [self.lines[i] for i in idx],
            reps=None if self.reps is None else np.asarray(self.reps)[idx],
        )

    @classmethod
    def from_labels(
        cls, texts: Sequence[str], labels: Sequence[str | Sequence[str]], label_space: LabelSpace | None = None
    ) -> "Dataset":
        """A gold dataset from parallel texts and labels (label space inferred if not given)."""
        space = label_space or LabelSpace.infer(labels)
        targets = np.stack([space.encode(label) for label in labels]) if labels else np.zeros((0, len(space)), np.float32)
        return cls(list(texts), targets, space)


def read_texts(path: str | os.PathLike, text_field: str = "text") -> list[str]:
    """The texts of a JSONL or CSV file (other fields ignored)."""
    path = Path(path)
    return [_text_of(path, record, text_field) for record in iter_records(path)]


def read_labelled(
    path: str | os.PathLike,
    label_space: LabelSpace | None = None,
    *,
    text_field: str = "text",
    label_field: str = "label",
    allow_empty: bool = False,
) -> Dataset:
    """A gold dataset from a JSONL or CSV file with ``text`` and ``label`` fields.

    With ``label_space`` given, a label outside it is an error on its line; without,
    the space is inferred from this file.
    """
    path = Path(path)
    csv_file = file_format(path) == "csv"
    texts: list[str] = []
    labels: list[str | tuple[str, ...]] = []
    lines: list[int] = []
    kinds: set[str] = set()
    for record in iter_records(path):
        texts.append(_text_of(path, record, text_field))
        if not csv_file:
            kinds.add(_json_kind(record.data.get(label_field)) or "string")
        label = _label_of(path, record, label_field, csv_file)
        if label_space is not None:
            names = [label] if isinstance(label, str) else label
            for name in names:
                if name not in label_space.labels:
                    raise DataError(
                        path, record.line, f"label {name!r} is not among the training labels ({', '.join(label_space.labels)})"
                    )
            if not label_space.multilabel and not isinstance(label, str):
                if len(label) != 1:
                    raise DataError(path, record.line, f"single-label task, but {label_field!r} lists {len(label)} labels")
                label = label[0]
        labels.append(label)
        lines.append(record.line)
    if not texts and not allow_empty:
        raise DataError(path, None, "no examples in the file")
    if label_space is None:
        if not labels:
            raise DataError(path, None, "no examples in the file")
        try:
            label_space = LabelSpace.infer(labels)
        except Exception as exc:
            raise DataError(path, None, str(exc)) from None
    dataset = Dataset.from_labels(texts, labels, label_space)
    dataset.source, dataset.lines = str(path), lines
    dataset.label_kinds = frozenset({"number", "string"} if "mixed" in kinds else kinds)
    return dataset


#: A class with fewer training examples than this is named in a warning.
MIN_CLASS_EXAMPLES = 5


def label_warnings(train: Dataset, **others: Dataset) -> list[str]:
    """Warnings about the labels of gold splits (``others``: name -> split, e.g. ``dev=..., test=...``):
    classes with fewer than :data:`MIN_CLASS_EXAMPLES` training examples, classes absent from a split
    (they still count in macro-F1), and labels written as JSON numbers in one place and strings in
    another (read as the same names). One line each, naming every class concerned."""
    warnings = []
    labels = train.label_space.labels
    counts = train.targets.sum(axis=0) if len(train) else np.zeros(len(labels))
    few = [f"{label!r} ({int(c)})" for label, c in zip(labels, counts) if c < MIN_CLASS_EXAMPLES]
    if few:
        warnings.append(
            f"{train.source or 'train'}: class(es) with fewer than {MIN_CLASS_EXAMPLES} training examples: {', '.join(few)}; "
            "they are hard to learn, and each counts as much as any other in macro-F1"
        )
    for name, split in others.items():
        present = split.targets.sum(axis=0) > 0 if len(split) else np.zeros(len(labels), bool)
        absent = [repr(label) for label, there in zip(labels, present) if not there]
        if absent:
            warnings.append(
                f"{split.source or name}: no {name} example of class(es) {', '.join(absent)}: their {name} figures are 0, "
                "and they count in macro-F1"
            )
    splits = {"train": train, **others}
    for name, split in splits.items():
        if len(split.label_kinds) > 1:
            warnings.append(f"{split.source or name}: labels are JSON numbers on some lines and strings on others "
                            "(1 and \"1\" are read as the same label)")  # fmt: skip
    kinds = {name: next(iter(split.label_kinds)) for name, split in splits.items() if len(split.label_kinds) == 1}
    if len(set(kinds.values())) > 1:
        written = "; ".join(f"{splits[name].source or name}: {kind}s" for name, kind in kinds.items())
        warnings.append(f"labels are written as JSON numbers in one file and as strings in another ({written}): "
                        "they are read as the same label names")  # fmt: skip
    return warnings


def probs_row(path: Path, line: int, probs: Any, label_space: LabelSpace) -> np.ndarray:
    """Validate one ``{"label": p}`` mapping against the label space; returns the row."""
    if not isinstance(probs, dict):
        raise DataError(path, line, "'probs' must be an object mapping each label to its probability")
    row = np.zeros(len(label_space), dtype=np.float32)
    for name, p in probs.items():
        if name not in label_space.labels:
            raise DataError(path, line, f"unknown label {name!r} in 'probs'; known labels: {', '.join(label_space.labels)}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not np.isfinite(p):
            raise DataError(path, line, f"probability of {name!r} must be a finite number, got {json.dumps(p)}")
        if not 0.0 <= p <= 1.0:
            raise DataError(path, line, f"probability of {name!r} is {p}, outside [0, 1]")
        row[label_space.labels.index(name)] = p
    missing = [name for name in label_space.labels if name not in probs]
    if missing:
        raise DataError(path, line, f"'probs' lacks label(s) {', '.join(map(repr, missing))}")
    if not label_space.multilabel and abs(float(row.sum()) - 1.0) > SUM_TOLERANCE:
        raise DataError(path, line, f"probabilities sum to {row.sum():.4f}, not 1, in a single-label task")
    return row


def read_soft_labels(path: str | os.PathLike, label_space: LabelSpace, *, text_field: str = "text") -> Dataset:
    """Soft labels as a soft dataset: a JSONL/CSV file (``{"text": ..., "probs": {label: p}}``
    per line) or a folder of Parquet shards as ``kdtext label --engine ray`` writes them
    (see :func:`read_soft_label_shards`)."""
    path = Path(path)
    if path.is_dir():
        return read_soft_label_shards(path, label_space)
    texts: list[str] = []
    rows: list[np.ndarray] = []
    lines: list[int] = []
    for record in iter_records(path):
        texts.append(_text_of(path, record, text_field))
        if "probs" not in record.data:
            raise DataError(path, record.line, "missing 'probs' field")
        probs = record.data["probs"]
        if isinstance(probs, str):  # CSV cell
            try:
                probs = json.loads(probs)
            except json.JSONDecodeError:
                raise DataError(path, record.line, "'probs' is not valid JSON") from None
        rows.append(probs_row(path, record.line, probs, label_space))
        lines.append(record.line)
    if not texts:
        raise DataError(path, None, "no examples in the file")
    return Dataset(texts, np.stack(rows), label_space, soft=True, source=str(path), lines=lines)


def read_soft_label_shards(directory: str | os.PathLike, label_space: LabelSpace) -> Dataset:
    """The soft labels of a folder written by :func:`kdtext.labelling.engine.files.write_label_shards`.

    The folder holds ``manifest.json`` (format ``kdtext-soft-labels``: labels, example
    count and each shard's first row and row count) and Parquet shards with a ``text``
    column and a ``probs`` struct column of one float field per label. Rows come back in
    the order of the manifest; every problem (a missing shard, a row count that does not
    match, labels that are not the training labels, probabilities that are not
    probabilities) is a :class:`DataError` naming the shard and its row (1-based).
    """
    from .io import read_json

    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    try:
        manifest = read_json(manifest_path, error=lambda message: DataError(None, None, message))
    except FileNotFoundError:
        raise DataError(directory, None, "a folder, but not one of soft-label shards (no manifest.json); give a .jsonl file or the folder `kdtext label --engine ray` wrote") from None
    except OSError as exc:
        raise DataError(manifest_path, None, f"unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SHARDS_FORMAT or not isinstance(manifest.get("files"), list):
        raise DataError(manifest_path, None, f"not a manifest of soft-label shards (format {SHARDS_FORMAT!r})")
    labels = [str(name) for name in manifest.get("labels", [])]
    if sorted(labels) != sorted(label_space.labels):
        raise DataError(manifest_path, None, f"the shards have labels {labels}, the training data {list(label_space.labels)}")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(directory, None, "reading Parquet shards needs pyarrow: pip install pyarrow (or 'kdtext[ray]')") from None
    texts: list[str] = []
    parts: list[np.ndarray] = []
    for entry in manifest["files"]:
        shard = directory / str(entry.get("path", ""))
        if int(entry.get("first", -1)) != len(texts):
            raise DataError(manifest_path, None, f"shard {shard.name} starts at row {entry.get('first')}, expected {len(texts)}")
        try:
            table = pq.read_table(shard, columns=["text", "probs"])
        except FileNotFoundError:
            raise DataError(shard, None, "shard listed in manifest.json is missing") from None
        except Exception as exc:  # pyarrow raises its own error types for damaged files
            raise DataError(shard, None, f"not a readable Parquet shard: {exc}") from None
        if table.num_rows != int(entry.get("rows", -1)):
            raise DataError(shard, None, f"{table.num_rows} rows, manifest.json says {entry.get('rows')}")
        column = table.column("probs").combine_chunks()
        try:
            probs = np.stack([column.field(name).to_numpy(zero_copy_only=False) for name in label_space.labels], axis=1)
        except KeyError as exc:
            raise DataError(shard, None, f"the 'probs' column lacks label {exc}") from None
        probs = probs.astype(np.float32).reshape(table.num_rows, len(label_space))
        shard_texts = table.column("text").to_pylist()
        bad = next((i for i, text in enumerate(shard_texts) if not isinstance(text, str) or not text.strip()), None)
        if bad is not None:
            raise DataError(shard, None, f"row {bad + 1}: empty or missing text")
        _check_probability_rows(shard, probs, label_space)
        texts.extend(shard_texts)
        parts.append(probs)
    if len(texts) != int(manifest.get("examples", len(texts))):
        raise DataError(manifest_path, None, f"the shards hold {len(texts)} rows, manifest.json says {manifest.get('examples')}")
    if not texts:
        raise DataError(directory, None, "no examples in the shards")
    return Dataset(texts, np.concatenate(parts), label_space, soft=True, source=str(directory))


def _check_probability_rows(path: Path, probs: np.ndarray, label_space: LabelSpace) -> None:
    """The checks of :func:`probs_row`, over a whole array at once; errors name the first bad row (1-based)."""
    finite = np.isfinite(probs).all(axis=1)
    inside = ((probs >= 0.0) & (probs <= 1.0)).all(axis=1)
    ok = finite & inside
    if not label_space.multilabel:
        ok &= np.abs(probs.sum(axis=1, dtype=np.float64) - 1.0) <= SUM_TOLERANCE
    if ok.all():
        return
    i = int(np.argmin(ok))
    if not finite[i]:
        problem = "a probability is not a finite number"
    elif not inside[i]:
        problem = "a probability is outside [0, 1]"
    else:
        problem = f"probabilities sum to {probs[i].sum():.4f}, not 1, in a single-label task"
    raise DataError(path, None, f"row {i + 1}: {problem}")
