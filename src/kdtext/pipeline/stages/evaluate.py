"""The ``reference`` and ``evaluate`` stages: the off-the-shelf classifier, and the four models on test.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any, Callable

import numpy as np

from ..artifacts import load_teacher, split
from ..report import gap_recovered
from ..runner import StageContext
from . import _jsonable

#: Passes over the test texts per model for the speed figures: in the recipe's order, then reversed.
SPEED_PASSES = 2
#: The models the distilled student is compared with, pairwise, on the same test examples.
PAIRED_WITH = ("teacher", "baseline", "reference")


def stage_reference(ctx: StageContext) -> dict[str, Any]:
    """The off-the-shelf classifier on the gold data alone (:mod:`kdtext.students.reference`): is distillation worth it?"""
    from ...students.reference import DESCRIPTION, ReferenceClassifier

    started = time.perf_counter()
    model = ReferenceClassifier.fit(split(ctx, "train"), split(ctx, "dev"), seed=ctx.config.seed)
    model.save(ctx.out / "model")
    seconds = time.perf_counter() - started
    ctx.log(f"{DESCRIPTION}: dev {model.dev_score:.4f} with C={model.C:g}, in {seconds:.1f}s")
    return {"model": DESCRIPTION, "C": model.C, "best_dev_score": model.dev_score, "train_seconds": round(seconds, 3)}


def machine() -> dict[str, Any]:
    """What speed figures were measured on: the machine, its threads and its load right now."""
    found: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    torch = sys.modules.get("torch")  # only when a model already loaded it: importing torch here costs seconds
    if torch is not None:
        found["torch_threads"] = torch.get_num_threads()
    return found


def timed_passes(models: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], passes: int = SPEED_PASSES) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every model's probabilities on ``texts`` and its docs/s, measured so that their ratio is fair.

    Each model predicts all the texts ``passes`` times, the models in turn, in the given
    order and then reversed (A B C, C B A): a load that rises or falls during the
    measurement weighs on every model alike. A model's docs/s is its texts over its time
    in all passes; each first sees 32 texts untimed (lazy set-up). Returns the first
    pass's predictions and ``{"docs_per_second": {...}, "how", "machine" (before), "load_average_after", ...}``.
    """
    before = machine()
    for predict in models.values():
        predict(texts[:32])
    seconds = dict.fromkeys(models, 0.0)
    outputs: dict[str, np.ndarray] = {}
    for number in range(passes):
        for name in list(models)[:: 1 if number % 2 == 0 else -1]:
            started = time.perf_counter()
            probs = models[name](texts)
            seconds[name] += time.perf_counter() - started
            outputs.setdefault(name, np.asarray(probs, np.float32))
    after = machine()
    speed = {name: (passes * len(texts) / s if s > 0 else None) for name, s in seconds.items()}
    return outputs, {
        "docs_per_second": speed,
        "texts": len(texts),
        "passes": passes,
        "how": f"each model predicted the {len(texts):,} test texts {_times(passes)}, the models in turn and then in reverse order",
        "machine": before,
        "load_average_after": after["load_average"],
    }


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def stage_evaluate(ctx: StageContext) -> dict[str, Any]:
    """Test figures of the four models, their predictions (``predictions/<model>.npy``) and paired tests."""
    from ...base import directory_size
    from ...io import atomic_write, write_json
    from ...metrics import agreement, correct_mask, mcnemar, prediction_figures
    from ...students import load_student
    from ...students.reference import ReferenceClassifier

    test = split(ctx, "test")
    space = test.label_space
    folders = {name: ctx.input(name) / "model" for name in ("baseline", "teacher", "distilled", "reference")}
    models = {
        "baseline": load_student(folders["baseline"]),
        "teacher": load_teacher(ctx),
        "distilled": load_student(folders["distilled"]),
        "reference": ReferenceClassifier.load(folders["reference"]),
    }
    probs, speed = timed_passes({name: model.predict_proba for name, model in models.items()}, list(test.texts))
    (ctx.out / "predictions").mkdir()
    results: dict[str, Any] = {}
    for name in models:
        with atomic_write(ctx.out / "predictions" / f"{name}.npy", "wb") as handle:
            np.save(handle, probs[name])
        figures = prediction_figures(test.targets, probs[name], space.labels, space.multilabel)
        figures["agreement_with_teacher"] = agreement(probs[name], probs["teacher"], space.multilabel)
        figures["docs_per_second"] = speed["docs_per_second"][name]
        figures["size_bytes"] = directory_size(folders[name])
        results[name] = figures
        low, high = figures["accuracy_ci"]
        ctx.log(
            f"{name}: accuracy {figures['accuracy']:.4f} (95% {low:.3f}-{high:.3f}), macro-F1 {figures['macro_f1']:.4f}, "
            f"ECE {figures['ece']:.3f}, agrees with the teacher on {100 * figures['agreement_with_teacher']:.1f}%"
        )
    right = {name: correct_mask(test.targets, probs[name], space.multilabel) for name in models}
    results["paired_tests"] = {
        f"distilled_vs_{other}": {"a": "distilled", "b": other, **mcnemar(right["distilled"], right[other])} for other in PAIRED_WITH
    }
    results["gap_recovered"] = gap_recovered(results)
    speed_note = {k: v for k, v in speed.items() if k != "docs_per_second"}
    write_json(ctx.out / "results.json", _jsonable({**results, "speed": speed_note}))
    return {"results": _jsonable(results), "speed": _jsonable(speed_note)}
