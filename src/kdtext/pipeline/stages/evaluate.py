"""The ``reference`` and ``evaluate`` stages: the off-the-shelf classifier, and the four models on test.
"""

from __future__ import annotations

import time
from typing import Any

from ..artifacts import load_teacher, split
from ..report import gap_recovered
from ..runner import StageContext
from . import _jsonable


def stage_reference(ctx: StageContext) -> dict[str, Any]:
    """The off-the-shelf classifier on the gold data alone (:mod:`kdtext.students.reference`): is distillation worth it?"""
    from ...students.reference import DESCRIPTION, ReferenceClassifier

    started = time.perf_counter()
    model = ReferenceClassifier.fit(split(ctx, "train"), split(ctx, "dev"), seed=ctx.config.seed)
    model.save(ctx.out / "model")
    seconds = time.perf_counter() - started
    ctx.log(f"{DESCRIPTION}: dev {model.dev_score:.4f} with C={model.C:g}, in {seconds:.1f}s")
    return {"model": DESCRIPTION, "C": model.C, "best_dev_score": model.dev_score, "train_seconds": round(seconds, 3)}


def stage_evaluate(ctx: StageContext) -> dict[str, Any]:
    from ...base import directory_size
    from ...metrics import evaluate_predictions
    from ...students import load_student
    from ...students.reference import ReferenceClassifier

    test = split(ctx, "test")
    space = test.label_space
    models = {
        "baseline": (load_student(ctx.input("baseline") / "model"), ctx.input("baseline") / "model"),
        "teacher": (load_teacher(ctx), ctx.input("teacher") / "model"),
        "distilled": (load_student(ctx.input("distilled") / "model"), ctx.input("distilled") / "model"),
        "reference": (ReferenceClassifier.load(ctx.input("reference") / "model"), ctx.input("reference") / "model"),
    }
    results: dict[str, Any] = {}
    for name, (model, folder) in models.items():
        results[name] = evaluate_predictions(
            model.predict_proba, test.texts, test.targets, space.labels, space.multilabel, size_bytes=directory_size(folder)
        )
        ctx.log(f"{name}: accuracy {results[name]['accuracy']:.4f}, macro-F1 {results[name]['macro_f1']:.4f}")
    results["gap_recovered"] = gap_recovered(results)
    from ...io import write_json

    write_json(ctx.out / "results.json", _jsonable(results))
    return {"results": _jsonable(results)}
