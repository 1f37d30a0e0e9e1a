"""The ``label`` stage: the teacher's probabilities for the synthetic examples and the unlabelled texts.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import numpy as np

from ...io import atomic_write
from ...labelling import LabelOptions, LabelResult
from ..artifacts import label_space_of, load_teacher, synthetic_of, unlabeled
from ..config import RunConfig
from ..runner import StageContext
from .augment import _engine

#: Synthetic examples labelled per call: the stage holds one chunk's input ids and probabilities,
#: not the whole set's (at a million examples, the ids alone took over a gigabyte).
LABEL_CHUNK = 200_000


def wants_representations(config: RunConfig) -> bool:
    """Whether the student learns the teacher's sentence representations too (a student parameter
    ``rep_weight`` above 0, as the spaCy students take): the label stage then collects them."""
    try:
        return float(config.student_params.get("rep_weight") or 0) > 0
    except (TypeError, ValueError):
        return False  # not a number: the student names the bad value when it is made


def stage_label(ctx: StageContext) -> dict[str, Any]:
    """Label through the run's engine (:func:`kdtext.labelling.label_with_teacher`, the one labelling
    path): synthetic examples from the teacher's input ids where it offers them
    (:meth:`kdtext.Teacher.input_ids`), else from their texts, :data:`LABEL_CHUNK` at a time off the
    memory-mapped set; then the unlabelled texts. ``probs.npy`` is written chunk by chunk, and with
    :func:`wants_representations` ``reps.npy`` too: the teacher's sentence representation of every
    row (float16, from the same forward pass as its probabilities)."""
    config = ctx.config
    teacher = load_teacher(ctx)
    engine = _engine(config)
    local = config.engine == "local"
    synthetic = synthetic_of(ctx.runner.run_dir, ctx.input("augment"))
    pool = unlabeled(ctx)
    space = label_space_of(ctx)
    options = LabelOptions(
        cache_dir=ctx.runner.run_dir / "cache" / "labels",
        device=config.device,
        batch_tokens=config.batch_tokens,
        quantize=config.quantize,
        backend=None if config.backend == "auto" else config.backend,  # "auto": the teacher's own choice
        representations=wants_representations(config),
    )
    runs: list[dict[str, Any]] = []

    def label(what: str, texts: list[str] | None = None, ids: Any = None, *, first: int = 0, bar: str = "") -> LabelResult:
        result, figures = engine.label(
            teacher, texts, ids, options=options, model_path=ctx.input("teacher") / "model", teacher_name=config.teacher,
            progress=f"labelling {what}s{bar}" if local else False,  # the Ray engine shows Ray's own progress
            where=lambda i: f"{what} {first + i}", label_space=space,
        )  # fmt: skip
        if not local:
            runs.append(figures)
        return result

    def results() -> Iterator[LabelResult]:
        """Synthetic examples a chunk at a time (only that chunk's input ids in memory), then the pool."""
        for first in range(0, n, LABEL_CHUNK):
            part = synthetic if n <= LABEL_CHUNK else synthetic.subset(np.arange(first, min(first + LABEL_CHUNK, n)))
            ids = teacher.input_ids(part) if teacher.label is not None else None
            bar = "" if n <= LABEL_CHUNK else f" {first + 1:,}-{first + len(part):,} of {n:,}"
            yield label("synthetic example", None if ids is not None else part.texts(), ids, first=first, bar=bar)
            del part, ids
        if pool:
            yield label("unlabelled text", pool)

    started = time.perf_counter()
    n, total = len(synthetic), len(synthetic) + len(pool)
    truncated = cached = 0
    with atomic_write(ctx.out / "probs.npy", "wb") as handle, contextlib.ExitStack() as more:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": (total, len(space))})
        reps = None
        for result in results():
            handle.write(np.ascontiguousarray(result.probs, dtype="<f4").tobytes())
            if options.representations:
                if reps is None:  # its width is the teacher's: known from the first rows
                    reps = more.enter_context(atomic_write(ctx.out / "reps.npy", "wb"))
                    shape = (total, result.representations.shape[1])
                    np.lib.format.write_array_header_1_0(reps, {"descr": "<f2", "fortran_order": False, "shape": shape})
                reps.write(np.ascontiguousarray(result.representations, dtype="<f2").tobytes())
            truncated += int(result.n_truncated)
            cached += int(result.n_cached)
    seconds = time.perf_counter() - started
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
    # representations only when on: runs without them keep their fingerprints
    return {"quantize": config.quantize, "backend": config.backend, **({"representations": True} if wants_representations(config) else {})}
