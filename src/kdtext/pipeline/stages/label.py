"""The ``label`` stage: the teacher's probabilities for the synthetic examples and the unlabelled texts.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...io import atomic_write
from ...labelling import LabelOptions, LabelResult
from ..artifacts import label_space_of, load_teacher, synthetic_of, unlabeled
from ..config import RunConfig
from ..runner import StageContext
from .augment import _engine


def stage_label(ctx: StageContext) -> dict[str, Any]:
    """Label through the run's engine (:func:`kdtext.labelling.label_with_teacher`, the one labelling
    path): synthetic examples from the teacher's input ids where it offers them
    (:meth:`kdtext.Teacher.input_ids`), else from their texts; then the unlabelled texts."""
    config = ctx.config
    teacher = load_teacher(ctx)
    engine = _engine(config)
    local = config.engine == "local"
    synthetic = synthetic_of(ctx.runner.run_dir)
    pool = unlabeled(ctx)
    space = label_space_of(ctx)
    options = LabelOptions(
        cache_dir=ctx.runner.run_dir / "cache" / "labels",
        device=config.device,
        batch_tokens=config.batch_tokens,
        quantize=config.quantize,
        backend=None if config.backend == "auto" else config.backend,  # "auto": the teacher's own choice
    )
    runs: list[dict[str, Any]] = []

    def label(what: str, texts: list[str] | None = None, ids: Any = None) -> LabelResult:
        result, figures = engine.label(
            teacher, texts, ids, options=options, model_path=ctx.input("teacher") / "model", teacher_name=config.teacher,
            progress=f"labelling {what}s" if local else False,  # the Ray engine shows Ray's own progress
            where=lambda i: f"{what} {i}", label_space=space,
        )  # fmt: skip
        if not local:
            runs.append(figures)
        return result

    started = time.perf_counter()
    results = []
    if len(synthetic):
        ids = teacher.input_ids(synthetic) if teacher.label is not None else None
        results.append(label("synthetic example", None if ids is not None else synthetic.texts(), ids))
    if pool:
        results.append(label("unlabelled text", pool))
    seconds = time.perf_counter() - started
    probs = np.concatenate([r.probs for r in results]) if results else np.zeros((0, len(space)), np.float32)
    truncated = sum(r.n_truncated for r in results)
    cached = sum(r.n_cached for r in results)
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
        "engine": {"name": config.engine, "runs": runs},
    }


def _label_settings(config: RunConfig) -> Any:
    return {"quantize": config.quantize, "backend": config.backend}
