"""The ``file`` teacher: soft labels the user already has, read from JSONL or CSV.

Any external model (an API, another framework, a human panel) can serve as the teacher:
write ``{"text": ..., "probs": {"<label>": p, ...}}`` per line and point kdtext at it.
Texts are looked up exactly; a text missing from the file is an error that names it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from ..base import Teacher
from ..data import SUM_TOLERANCE, _text_of, file_format, iter_records, probs_row
from ..errors import ConfigError, DataError, ModelError, TeacherOutputError
from ..hookspecs import hookimpl
from ..io import atomic_write, hash_file, read_json, write_json
from ..labelling.validate import check_teacher_output
from ..labels import LabelSpace

if TYPE_CHECKING:
    from ..data import Dataset

META_FILE = "kdtext_teacher.json"


class FileTeacher(Teacher):
    """Soft labels read from a JSONL/CSV file: any external model as the teacher.

    Parameters: ``path`` (the file: ``{"text", "probs": {label: p}}`` rows; in CSV a
    ``probs`` column holding that JSON object), ``labels`` (label order; default: the
    training labels at ``fit``, else the first row's keys), ``multilabel`` (default:
    the training data's task, else False), ``text_field`` ("text").
    """

    name: ClassVar[str] = "file"
    trainable: ClassVar[bool] = False
    run_unsupported: ClassVar[str] = (
        "a soft-label file cannot label the synthetic texts that `kdtext run` makes; use `--teacher command` "
        "to run your model on them, or `kdtext train-student --soft FILE` to train on the file's labels"
    )
    defaults: ClassVar[dict[str, Any]] = {"path": None, "labels": None, "multilabel": None, "text_field": "text"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.label_space: LabelSpace | None = None
        self._table: dict[str, np.ndarray] | None = None
        self._fingerprint: str | None = None
        if self.params["labels"] is not None:
            self.label_space = LabelSpace(tuple(str(x) for x in self.params["labels"]), bool(self.params["multilabel"]))

    @property
    def source(self) -> Path:
        if not self.params["path"]:
            raise ConfigError("teacher 'file' needs path=FILE (JSONL or CSV with 'text' and 'probs')")
        return Path(self.params["path"]).expanduser()

    def _infer_label_space(self) -> LabelSpace:
        path = self.source
        for record in iter_records(path):
            probs = record.data.get("probs")
            if isinstance(probs, str):
                try:
                    probs = json.loads(probs)
                except json.JSONDecodeError:
                    raise DataError(path, record.line, "'probs' is not valid JSON") from None
            if not isinstance(probs, dict) or not probs:
                raise DataError(path, record.line, "'probs' must be an object mapping each label to its probability")
            multilabel = self.params["multilabel"]
            if multilabel is None:
                values = [v for v in probs.values() if isinstance(v, (int, float))]
                multilabel = len(probs) == 1 or abs(sum(values) - 1.0) > SUM_TOLERANCE
            return LabelSpace(tuple(str(k) for k in probs), bool(multilabel))
        raise DataError(path, None, "no examples in the file")

    def _read(self) -> dict[str, np.ndarray]:
        if self._table is None:
            if self.label_space is None:
                self.label_space = self._infer_label_space()
            path = self.source
            file_format(path)
            field = self.params["text_field"]
            table: dict[str, np.ndarray] = {}
            first_line: dict[str, int] = {}
            for record in iter_records(path):
                text = _text_of(path, record, field)
                if "probs" not in record.data:
                    raise DataError(path, record.line, "missing 'probs' field")
                probs = record.data["probs"]
                if isinstance(probs, str):
                    try:
                        probs = json.loads(probs)
                    except json.JSONDecodeError:
                        raise DataError(path, record.line, "'probs' is not valid JSON") from None
                row = probs_row(path, record.line, probs, self.label_space)
                if text in table and not np.allclose(table[text], row, atol=1e-6):
                    raise DataError(
                        path, record.line, f"the same text has different probabilities on line {first_line[text]}"
                    )
                table.setdefault(text, row)
                first_line.setdefault(text, record.line)
            if not table:
                raise DataError(path, None, "no examples in the file")
            self._table = table
        return self._table

    def fit(self, train: "Dataset", dev: "Dataset | None" = None) -> dict[str, Any]:
        """Nothing to train: adopt the training labels and check the file against them."""
        if self.params["labels"] is None:
            self.label_space = train.label_space
            self._table = None
        elif self.label_space != train.label_space:
            raise ModelError(
                f"teacher 'file' labels ({', '.join(self.label_space.labels)}) differ from the training "  # type: ignore[union-attr]
                f"labels ({', '.join(train.label_space.labels)})"
            )
        table = self._read()
        covered = sum(text in table for text in train.texts)
        return {"source": str(self.source), "n_rows": len(table), "train_covered": covered}

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The file's probabilities for ``texts``; a text not in the file is a :class:`TeacherOutputError`."""
        table = self._read()
        assert self.label_space is not None
        missing = [i for i, text in enumerate(texts) if text not in table]
        if missing:
            first = texts[missing[0]]
            shown = first if len(first) <= 60 else first[:57] + "..."
            raise TeacherOutputError(
                f"teacher 'file': {len(missing)} of {len(texts)} texts are not in {self.source} "
                f"(first: example {missing[0]}, {shown!r})"
            )
        if not len(texts):
            return np.zeros((0, len(self.label_space)), np.float32)
        probs = np.stack([table[text] for text in texts])
        return check_teacher_output(probs, len(texts), self.label_space, teacher="teacher 'file'")

    def save(self, path: str | os.PathLike) -> None:
        """Copy the soft-label file into directory ``path`` with ``kdtext_teacher.json``."""
        table = self._read()
        assert self.label_space is not None
        path = Path(path).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        target = path / f"soft_labels{self.source.suffix.lower()}"
        if self.source.resolve() != target.resolve():
            with open(self.source, "rb") as source, atomic_write(target, "wb") as copy:
                shutil.copyfileobj(source, copy)
        write_json(
            path / META_FILE,
            {
                "kdtext_teacher": 1,
                "teacher": self.name,
                "labels": list(self.label_space.labels),
                "multilabel": self.label_space.multilabel,
                "task": self.label_space.task,
                "file": target.name,
                "text_field": self.params["text_field"],
                "n_rows": len(table),
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike, **params: Any) -> "FileTeacher":
        """A directory written by :meth:`save`, or a soft-label file itself."""
        path = Path(path).expanduser()
        if not path.exists():
            raise ModelError(f"{path}: does not exist (give a soft-label JSONL/CSV file or a saved 'file' teacher)")
        if path.is_file():
            teacher = cls(**{"path": str(path), **params})
            if teacher.label_space is None:
                teacher.label_space = teacher._infer_label_space()
            return teacher
        meta_path = path / META_FILE
        try:
            meta = read_json(meta_path, error=ModelError)
        except FileNotFoundError:
            raise ModelError(f"{path}: not a saved 'file' teacher (no {META_FILE})") from None
        except OSError as exc:
            raise ModelError(f"{meta_path}: unreadable: {exc}") from None
        if meta.get("teacher") != cls.name or "file" not in meta:
            raise ModelError(f"{meta_path}: written by teacher {meta.get('teacher')!r}, not 'file'")
        settings = {
            "path": str(path / meta["file"]),
            "labels": meta["labels"],
            "multilabel": meta.get("multilabel", False),
            "text_field": meta.get("text_field", "text"),
        }
        return cls(**{**settings, **params})

    def fingerprint(self) -> str:
        """``file-`` + SHA-256 of the file's bytes and the label order."""
        if self._fingerprint is None:
            digest = hash_file(self.source)
            labels = self.label_space.labels if self.label_space else ()
            digest.update(json.dumps([list(labels), self.params["text_field"]]).encode())
            self._fingerprint = "file-" + digest.hexdigest()[:16]
        return self._fingerprint

    def size_bytes(self) -> int | None:
        """Unknown: the model behind the file is a black box."""
        return None


@hookimpl
def register_teachers(register):
    register("file", FileTeacher)
