"""Label spaces: binary, multi-class and multi-label tasks in one representation.

Targets are always a float32 matrix of shape ``(n_examples, n_labels)``: one-hot rows
for gold single-label data, multi-hot rows for gold multi-label data, and
probabilities for soft labels from a teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import ConfigError


@dataclass(frozen=True)
class LabelSpace:
    """The labels of a task, in a fixed order, and whether several may apply at once."""

    labels: tuple[str, ...]
    multilabel: bool = False

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError(f"duplicate labels in {list(self.labels)}")
        if not self.multilabel and len(self.labels) < 2:
            raise ConfigError(f"a single-label task needs at least two labels, got {list(self.labels)}")
        if self.multilabel and len(self.labels) < 1:
            raise ConfigError("a multi-label task needs at least one label")

    @property
    def task(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"multilabel"``."""
        if self.multilabel:
            return "multilabel"
        return "binary" if len(self.labels) == 2 else "multiclass"

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise ConfigError(f"unknown label {label!r}; known labels: {', '.join(self.labels)}") from None

    def encode(self, label: str | Sequence[str]) -> np.ndarray:
        """A gold label (a string, or a list of strings for multi-label) as a target row."""
        row = np.zeros(len(self.labels), dtype=np.float32)
        if isinstance(label, str):
            row[self.index(label)] = 1.0
        else:
            for name in label:
                row[self.index(name)] = 1.0
        return row

    def decode(self, row: np.ndarray, threshold: float = 0.5) -> str | tuple[str, ...]:
        """The predicted label of a probability row (a tuple of labels for multi-label)."""
        if self.multilabel:
            return tuple(name for name, p in zip(self.labels, row) if p >= threshold)
        return self.labels[int(np.argmax(row))]

    def to_json(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "multilabel": self.multilabel, "task": self.task}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LabelSpace":
        return cls(tuple(data["labels"]), bool(data.get("multilabel", False)))

    @classmethod
    def infer(cls, labels: Iterable[str | Sequence[str]]) -> "LabelSpace":
        """The label space of some gold labels: sorted names; multi-label if any is a list."""
        names: set[str] = set()
        multilabel = False
        for label in labels:
            if isinstance(label, str):
                names.add(label)
            else:
                multilabel = True
                names.update(label)
        return cls(tuple(sorted(names)), multilabel)
