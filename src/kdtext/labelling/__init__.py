"""The one labelling path: :func:`label_with_teacher`, and what it takes and gives
(:class:`LabelOptions`, :class:`LabelResult`).

``kdtext run``'s label stage and ``kdtext label`` label through an engine
(:mod:`kdtext.labelling.engine`): the local engine calls :func:`label_with_teacher` in this
process, the Ray engine's workers call it on their blocks. It asks any teacher through the
contract only -- its ``label`` where it has one (with the :class:`LabelOptions`), else
``predict_proba`` in batches -- and checks what comes back before anyone uses it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from ..data import Dataset


#: What runs a teacher's model when it labels (the bert teacher: ``auto`` is ONNX Runtime for CPU
#: jobs of 1,000+ examples when installed, else PyTorch). The one list: options, settings and checks use it.
BACKENDS = ("auto", "torch", "onnx")
#: Quantizations a teacher may apply for labelling (``int8``: PyTorch's dynamic int8, CPU only).
QUANTIZATIONS = ("int8",)
#: Numerics of labelling: ``auto`` (bf16 autocast on CUDA, fp32 on the CPU), ``fp32``, ``bf16``, ``fp16`` (CUDA).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def choices_text(choices: tuple[str, ...]) -> str:
    """``"auto, torch or onnx"``: a tuple of choices as messages name them."""
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


@dataclass(frozen=True)
class LabelOptions:
    """How a teacher's ``label`` should run: the keyword arguments it receives.

    ``cache_dir``: a label cache folder (None: no cache); ``device``: ``"auto"``,
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (None: the teacher's own setting);
    ``batch_tokens``: tokens per padded batch; ``max_batch_size``: rows per batch;
    ``quantize``: one of :data:`QUANTIZATIONS` or None; ``precision``: one of :data:`PRECISIONS`;
    ``backend``: one of :data:`BACKENDS` (None: the teacher's own choice);
    ``representations``: also return each example's sentence representation (only a
    teacher with :attr:`kdtext.Teacher.gives_representations` can);
    ``extra``: further keyword arguments a particular teacher's ``label`` takes.
    """

    cache_dir: str | os.PathLike | None = None
    device: str | None = None
    batch_tokens: int | None = None
    max_batch_size: int | None = None
    quantize: str | None = None
    precision: str = "auto"
    backend: str | None = None
    representations: bool = False
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
        for name in ("cache_dir", "device", "batch_tokens", "max_batch_size", "quantize", "backend"):
            value = getattr(self, name)
            if value is not None:
                found[name] = str(value) if name == "cache_dir" else value
        if self.precision != "auto":
            found["precision"] = self.precision
        if self.representations:
            found["representations"] = True
        found.update(self.extra)
        return found


@dataclass
class LabelResult:
    """Soft labels for a list of examples, in input order, and how they were obtained.

    ``probs`` and ``logits`` are float32 ``(n, n_labels)`` (``logits`` None where the
    teacher gives none); ``representations``, when asked for (else None), the teacher's
    sentence representation of each example, float16 ``(n, dims)`` (the built-in teacher:
    the mean of its last hidden states over the example's tokens); ``seconds`` is wall
    time of the whole call (tokenization, cache and model), so ``examples_per_second`` is
    the end-to-end rate.
    """

    probs: np.ndarray
    logits: np.ndarray | None
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
    representations: np.ndarray | None = None

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
        if logits and self.logits is None:
            raise ValueError("these labels have no logits")
        for i, text in enumerate(texts):
            row: dict[str, Any] = {"text": text, "probs": {name: float(p) for name, p in zip(labels, self.probs[i])}}
            if logits:
                row["logits"] = {name: float(v) for name, v in zip(labels, self.logits[i])}  # type: ignore[index]
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
    logits: bool = False,
    where: Callable[[int], str] | None = None,
    check: bool = True,
    label_space: Any = None,
) -> LabelResult:
    """Soft labels for ``texts`` or ``ids`` (one of them) from any teacher, through the contract only.

    A teacher with ``label`` gets ``texts`` or ``ids``, ``progress`` (False, True or the
    bar's label) and the ``options`` that are set; what it returns becomes a
    :class:`LabelResult`. Any other teacher is asked ``predict_proba`` in batches of
    :data:`PREDICT_BATCH` texts (and ``predict_logits`` too with ``logits``); it cannot
    take ``ids`` and has no cache, so ``options`` do not apply. With ``check`` (the
    default), the probabilities are validated (:func:`kdtext.labelling.validate.check_teacher_output`)
    against ``label_space`` (default: the teacher's), ``where(i)`` naming example ``i``, and
    so are the representations ``options`` asked for: a
    :class:`~kdtext.errors.TeacherOutputError` stops the caller before anything trains on them.
    """
    from ..errors import ConfigError

    options = options if options is not None else LabelOptions()
    space = label_space if label_space is not None else teacher.label_space
    who = f"teacher {getattr(teacher, 'name', '') or type(teacher).__name__!r}"
    if options.representations and not getattr(teacher, "gives_representations", False):
        raise ConfigError(f"{who} gives no sentence representations (kdtext.Teacher.gives_representations is False)")
    if (texts is None) == (ids is None):
        raise ConfigError("labelling takes texts or ids (one of them)")
    if isinstance(texts, str):
        raise ConfigError("labelling takes a list of texts, not one string")
    n = len(texts if texts is not None else ids)  # type: ignore[arg-type]
    if where is None:
        where = (lambda i: f"example {i} ({texts[i][:40]!r})") if texts is not None else (lambda i: f"example {i}")
    started = time.perf_counter()
    if callable(getattr(teacher, "label", None)):
        args = (texts,) if ids is None else (texts, ids)
        result = _as_result(teacher.label(*args, progress=progress, **options.kwargs()), n, started)
    elif ids is not None:
        raise ConfigError(f"{who} has no label(): it labels texts, not ids")
    else:
        result = _predict_in_batches(teacher, list(texts), who, space, logits=logits, progress=progress, where=where, check=check)  # type: ignore[arg-type]
    if logits and result.logits is None:
        raise ConfigError(f"{who} gives no logits (raw scores before softmax or sigmoid)")
    if check:
        from .validate import check_representations, check_teacher_output

        result.probs = check_teacher_output(result.probs, n, space, teacher=who, where=where)
        if options.representations:
            result.representations = check_representations(result.representations, n, teacher=who, where=where)
    return result


def _as_result(got: Any, n: int, started: float) -> LabelResult:
    """What a teacher's ``label`` returned (a LabelResult, or any object with ``probs``,
    ``n_truncated`` and ``n_cached``) as a :class:`LabelResult`."""
    if isinstance(got, LabelResult):
        return got
    n_cached = int(getattr(got, "n_cached", 0) or 0)
    raw_logits = getattr(got, "logits", None)
    return LabelResult(
        probs=got.probs,
        logits=None if raw_logits is None else np.asarray(raw_logits, np.float32),
        n_truncated=int(getattr(got, "n_truncated", 0) or 0),
        n_cached=n_cached,
        n_computed=int(getattr(got, "n_computed", n - n_cached)),
        seconds=float(getattr(got, "seconds", time.perf_counter() - started)),
        device=str(getattr(got, "device", "n/a")),
        variant=str(getattr(got, "variant", "n/a")),
        batch_tokens=int(getattr(got, "batch_tokens", 0) or 0),
        cached=getattr(got, "cached", None),
        representations=getattr(got, "representations", None),
    )


def _predict_in_batches(
    teacher: Any, texts: list[str], who: str, space: Any, *, logits: bool, progress: Any, where: Callable[[int], str], check: bool
) -> LabelResult:
    """``predict_proba`` (and ``predict_logits``) in batches of :data:`PREDICT_BATCH` texts, each batch
    checked as it comes (a batch of the wrong shape is named by its first example)."""
    from ..errors import ConfigError
    from .validate import check_teacher_output

    started = time.perf_counter()
    k = len(space or ())
    prob_parts, logit_parts = [], []
    bar = None
    if progress and texts:
        import sys

        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), unit="ex", desc=progress if isinstance(progress, str) else "labelling", file=sys.stderr, leave=False)
    try:
        for start in range(0, len(texts), PREDICT_BATCH):
            batch = texts[start : start + PREDICT_BATCH]
            probs = teacher.predict_proba(batch)
            if check:
                probs = check_teacher_output(probs, len(batch), space, teacher=who, where=lambda i, s=start: where(s + i))
            prob_parts.append(np.asarray(probs, np.float32))
            if logits:
                try:
                    logit_parts.append(np.asarray(teacher.predict_logits(batch), np.float32))
                except NotImplementedError:
                    raise ConfigError(f"{who} gives no logits (raw scores before softmax or sigmoid)") from None
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    probs = np.concatenate(prob_parts) if prob_parts else np.zeros((0, k), np.float32)
    return LabelResult(
        probs=probs,
        logits=(np.concatenate(logit_parts) if logit_parts else np.zeros((0, k), np.float32)) if logits else None,
        n_truncated=0,
        n_cached=0,
        n_computed=len(probs),
        seconds=time.perf_counter() - started,
        device="n/a",
        variant="predict_proba",
        batch_tokens=0,
        cached=np.zeros(len(probs), bool),
    )
