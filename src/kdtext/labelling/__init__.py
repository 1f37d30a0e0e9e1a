"""What labelling with a teacher takes and gives: :class:`LabelOptions` and :class:`LabelResult`.

Both belong to the teacher contract (:class:`kdtext.Teacher`'s optional ``label``), not to
one teacher: the local and the Ray engine hand a teacher the same :class:`LabelOptions`,
and any teacher's ``label`` may return a :class:`LabelResult`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from ..data import Dataset


@dataclass(frozen=True)
class LabelOptions:
    """How a teacher's ``label`` should run: the keyword arguments it receives.

    ``cache_dir``: a label cache folder (None: no cache); ``device``: ``"auto"``,
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (None: the teacher's own setting);
    ``batch_tokens``: tokens per padded batch; ``max_batch_size``: rows per batch;
    ``quantize``: ``"int8"`` or None; ``precision``: ``"auto"``, ``"fp32"``...;
    ``extra``: further keyword arguments a particular teacher's ``label`` takes.
    """

    cache_dir: str | os.PathLike | None = None
    device: str | None = None
    batch_tokens: int | None = None
    max_batch_size: int | None = None
    quantize: str | None = None
    precision: str = "auto"
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, options: "LabelOptions | None" = None, **kwargs: Any) -> "LabelOptions":
        """``options`` (or the defaults) with ``kwargs`` on top; names that are not fields go to ``extra``."""
        base = options if options is not None else cls()
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in kwargs.items() if k in names}
        extra = {**base.extra, **{k: v for k, v in kwargs.items() if k not in names}}
        return dataclasses.replace(base, **known, extra=extra)

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``teacher.label``: only those set, so a teacher's
        ``label`` needs to accept only the options a run uses."""
        found: dict[str, Any] = {}
        for name in ("cache_dir", "device", "batch_tokens", "max_batch_size", "quantize"):
            value = getattr(self, name)
            if value is not None:
                found[name] = str(value) if name == "cache_dir" else value
        if self.precision != "auto":
            found["precision"] = self.precision
        found.update(self.extra)
        return found


@dataclass
class LabelResult:
    """Soft labels for a list of examples, in input order, and how they were obtained.

    ``probs`` and ``logits`` are float32 ``(n, n_labels)``; ``seconds`` is wall time of
    the whole call (tokenization, cache and model), so ``examples_per_second`` is the
    end-to-end rate.
    """

    probs: np.ndarray
    logits: np.ndarray
    n_truncated: int
    n_cached: int
    n_computed: int
    seconds: float
    device: str
    variant: str
    batch_tokens: int
    n_oom_halvings: int = 0
    padding_ratio: float = 1.0
    #: Per example, whether the label cache already held it (None: not known per example).
    cached: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.probs)

    @property
    def examples_per_second(self) -> float:
        return len(self.probs) / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> dict[str, Any]:
        """The figures of this run, for reports and ``--json`` output."""
        return {
            "examples": len(self.probs),
            "truncated": self.n_truncated,
            "cache_hits": self.n_cached,
            "computed": self.n_computed,
            "seconds": round(self.seconds, 3),
            "examples_per_second": round(self.examples_per_second, 1),
            "device": self.device,
            "variant": self.variant,
            "batch_tokens": self.batch_tokens,
            "oom_halvings": self.n_oom_halvings,
            "padding_ratio": round(self.padding_ratio, 3),
        }

    def rows(self, texts: Sequence[str], labels: Sequence[str], *, logits: bool = False) -> Iterator[dict[str, Any]]:
        """JSONL rows ``{"text", "probs"[, "logits"]}``, each a mapping label -> value."""
        for i, text in enumerate(texts):
            row: dict[str, Any] = {"text": text, "probs": {name: float(p) for name, p in zip(labels, self.probs[i])}}
            if logits:
                row["logits"] = {name: float(v) for name, v in zip(labels, self.logits[i])}
            yield row

    def to_dataset(self, texts: Sequence[str], label_space: Any) -> "Dataset":
        """A soft :class:`kdtext.data.Dataset` of these probabilities."""
        from ..data import Dataset

        return Dataset(list(texts), self.probs, label_space, soft=True)


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity masks and containers' cpusets): the
    default of a teacher's CPU threads and of a local Ray instance's CPUs."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Texts per ``predict_proba`` call for a teacher without ``label``.
PREDICT_BATCH = 512


def label_with_teacher(
    teacher: Any,
    texts: Sequence[str] | None = None,
    ids: Sequence[Any] | None = None,
    *,
    options: LabelOptions | None = None,
    progress: Any = False,
) -> LabelResult:
    """Soft labels from any teacher, through the teacher contract only.

    A teacher with ``label`` gets ``texts`` or ``ids`` and the ``options``; any other
    teacher is asked ``predict_proba`` in batches of :data:`PREDICT_BATCH` texts (it
    cannot take ``ids``, and has no cache: ``options`` do not apply). The probabilities
    are returned as the teacher gave them: validating them is the caller's job.
    """
    import time

    from ..errors import ConfigError

    options = options if options is not None else LabelOptions()
    if callable(getattr(teacher, "label", None)):
        return teacher.label(texts, ids, progress=progress, **options.kwargs())
    if texts is None:
        raise ConfigError(f"teacher {getattr(teacher, 'name', '') or type(teacher).__name__!r} has no label(): it labels texts, not ids")
    started = time.perf_counter()
    parts = [np.asarray(teacher.predict_proba(list(texts[i : i + PREDICT_BATCH]))) for i in range(0, len(texts), PREDICT_BATCH)]
    probs = np.concatenate(parts) if parts else np.zeros((0, len(teacher.label_space or ())), np.float32)
    return LabelResult(
        probs=probs,
        logits=np.full(probs.shape, np.nan, np.float32),
        n_truncated=0,
        n_cached=0,
        n_computed=len(probs),
        seconds=time.perf_counter() - started,
        device="n/a",
        variant=type(teacher).__name__,
        batch_tokens=0,
        cached=np.zeros(len(probs), bool),
    )
