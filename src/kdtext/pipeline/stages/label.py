"""The ``label`` stage: the teacher's probabilities for the synthetic examples and the unlabelled texts.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...io import atomic_write
from ...labels import LabelSpace
from ..artifacts import label_space_of, load_teacher, unlabeled
from ..config import RunConfig
from ..runner import StageContext
from .augment import _engine


#: Texts per predict_proba call for teachers without a ``label`` method.
PREDICT_BATCH = 512


def _teacher_probs(teacher: Any, name: str, space: LabelSpace, what: str, options: dict[str, Any],
                   texts: list[str] | None = None, ids: Any = None) -> tuple[np.ndarray, int, int]:
    """``(probs, n_truncated, n_cached)`` for ``texts`` (or ``ids``), validated whatever the teacher.

    A teacher with ``label`` (the built-in BERT teacher) gets the cache and batching
    options; any other teacher is called through ``predict_proba`` in batches. Every
    row is checked (:func:`check_teacher_output`): NaN, infinities, values outside
    [0, 1], rows that do not sum to 1 or a wrong number of rows stop the run.
    """
    from ...labelling.validate import check_teacher_output

    n = len(texts) if texts is not None else len(ids)
    who = f"teacher {name!r}"
    if teacher.label is not None:  # the optional batch labeller of the Teacher contract
        result = teacher.label(texts, ids, **options) if ids is not None else teacher.label(texts, **options)
        probs = check_teacher_output(result.probs, n, space, teacher=who, where=lambda i: f"{what} {i}")
        return probs, int(result.n_truncated), int(result.n_cached)
    if texts is None:
        raise ConfigError(f"{who} has neither label() nor texts to predict on")
    parts = []
    for start in range(0, n, PREDICT_BATCH):
        batch = texts[start : start + PREDICT_BATCH]
        parts.append(check_teacher_output(
            teacher.predict_proba(batch), len(batch), space, teacher=who, where=lambda i, s=start: f"{what} {s + i}"
        ))  # fmt: skip
    return (np.concatenate(parts) if parts else np.zeros((0, len(space)), np.float32)), 0, 0


def stage_label(ctx: StageContext) -> dict[str, Any]:
    from ...augment import SyntheticSet

    config = ctx.config
    teacher = load_teacher(ctx)
    if config.engine != "local":  # any teacher: the engine's workers label through the teacher contract
        from ...labelling.engine import EngineTeacher

        teacher = EngineTeacher(teacher, _engine(config), model_path=ctx.input("teacher") / "model", teacher_name=config.teacher)
    synthetic = SyntheticSet.load(ctx.input("augment") / "synthetic.npz")
    pool = unlabeled(ctx)
    space = label_space_of(ctx)
    cache = ctx.runner.run_dir / "cache" / "labels"
    options = dict(cache_dir=cache, device=config.device, batch_tokens=config.batch_tokens, quantize=config.quantize)
    if config.backend != "auto":  # a teacher's own choice otherwise; only teachers with backends take it
        options["backend"] = config.backend
    started = time.perf_counter()
    parts, truncated, cached = [], 0, 0
    if len(synthetic):
        ids = teacher.input_ids(synthetic) if teacher.label is not None else None
        if ids is not None:
            got = _teacher_probs(teacher, config.teacher, space, "synthetic example", _bar(options, config, "synthetic examples"), ids=ids)
        else:
            got = _teacher_probs(teacher, config.teacher, space, "synthetic example", _bar(options, config, "synthetic examples"), texts=synthetic.texts())
        parts.append(got[0])
        truncated += got[1]
        cached += got[2]
    if pool:
        got = _teacher_probs(teacher, config.teacher, space, "unlabelled text", _bar(options, config, "unlabelled texts"), texts=pool)
        parts.append(got[0])
        truncated += got[1]
        cached += got[2]
    seconds = time.perf_counter() - started
    probs = np.concatenate(parts) if parts else np.zeros((0, len(space)), np.float32)
    with atomic_write(ctx.out / "probs.npy", "wb") as handle:
        np.save(handle, probs.astype(np.float32))
    total = len(synthetic) + len(pool)
    ctx.log(
        f"labelled {total:,} examples in {seconds:.1f}s ({cached:,} found in the label cache: labelled by an earlier run, "
        f"or the same text as an example labelled before it; {truncated:,} truncated to the teacher's length)"
    )
    return {
        "n_synthetic": len(synthetic),
        "n_unlabeled": len(pool),
        "n_cached": cached,
        "n_truncated": truncated,
        "seconds": round(seconds, 3),
        "examples_per_second": round((total - cached) / seconds, 1) if seconds > 0 and total > cached else None,
        "engine": {"name": config.engine, "runs": getattr(teacher, "figures", [])},
    }


def _bar(options: dict[str, Any], config: RunConfig, what: str) -> dict[str, Any]:
    """``options`` with the label of the progress bar (``label(progress=...)``: a true value);
    the Ray engine shows Ray's own progress, not this bar."""
    return options if config.engine != "local" else {**options, "progress": f"labelling {what}"}


def _label_settings(config: RunConfig) -> Any:
    settings = {"quantize": config.quantize}
    if config.backend != "auto":  # only when set, so earlier runs keep their fingerprint
        settings["backend"] = config.backend
    return settings
