"""The ``vectors``, ``baseline`` and ``distilled`` stages: the teacher's word vectors and the two students.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ... import plugins
from ..artifacts import load_teacher, split, transfer_of, unlabeled
from ..config import RunConfig
from ..runner import StageContext
from . import _jsonable


def _student_settings(config: RunConfig) -> Any:
    return {"student": config.student, "params": config.student_params, "lang": config.lang, "seed": config.seed}


def stage_vectors(ctx: StageContext) -> dict[str, Any]:
    """Static word vectors for the distilled student from the teacher (:meth:`kdtext.Teacher.word_vectors`)."""
    from tqdm.auto import tqdm

    from ...augment.builder import corpus_from_texts
    from ...augment.corpus import TokenizedCorpus
    from ...students.vectors import save_vectors, word_vectors

    config = ctx.config
    if not config.teacher_vectors:
        return {"dims": 0}
    teacher = load_teacher(ctx)
    corpus = TokenizedCorpus.load(ctx.input("corpus") / "corpus")
    pool = corpus_from_texts(unlabeled(ctx), lang=config.lang, tagger=None)
    words = set(corpus.vocab) | set(pool.vocab) | set(teacher.vocabulary())
    started = time.perf_counter()
    with tqdm(total=len(words), unit=" words", desc="word vectors", file=sys.stderr, leave=False, disable=config.vectors_from != "encoder") as bar:
        got = word_vectors(teacher, words, dims=config.teacher_vectors, source=config.vectors_from, progress=bar.update)
    if got is None:
        note = f"teacher {config.teacher!r} gives no word vectors: the distilled student gets none"
        ctx.log(f"note: {note}")
        return {"dims": 0, "note": note}
    kept, vectors = got
    seconds = time.perf_counter() - started
    ctx.log(f"{len(kept):,} word vectors of {vectors.shape[1]} dimensions from the teacher's {config.vectors_from} in {seconds:.1f}s")
    save_vectors(ctx.out / "vectors.npz", kept, vectors)
    return {"dims": int(vectors.shape[1]), "words": len(kept), "source": config.vectors_from, "seconds": round(seconds, 3)}


def _vectors_settings(config: RunConfig) -> Any:
    return {"dims": config.teacher_vectors, "from": config.vectors_from}


def _new_student(ctx: StageContext, from_teacher: bool) -> Any:
    """The run's student; ``from_teacher``: with the teacher's word vectors (the distilled student),
    else with nothing of the teacher's (the baseline: no vectors, no representation targets)."""
    config = ctx.config
    cls = plugins.get_student(config.student)
    params = dict(config.student_params)
    defaults = cls.defaults  # the student contract: lang and vectors only to students that declare them
    if "lang" in defaults:
        params.setdefault("lang", config.lang)
    if from_teacher and "vectors" in defaults and (ctx.input("vectors") / "vectors.npz").exists():
        params.setdefault("vectors", str(ctx.input("vectors") / "vectors.npz"))
    if not from_teacher:
        params.pop("rep_weight", None)
    return cls(**params)


def stage_baseline(ctx: StageContext) -> dict[str, Any]:
    """The student on the gold data alone, with nothing from the teacher (not its word vectors either)."""
    from ...students import fit_student, save_student

    student = _new_student(ctx, from_teacher=False)
    student.progress_label = "baseline student"
    result = fit_student(student, split(ctx, "train"), split(ctx, "dev"), seed=ctx.config.seed, name=ctx.config.student)
    save_student(student, ctx.out / "model", name=ctx.config.student, figures=result)
    return _jsonable(result.as_dict())


def stage_distilled(ctx: StageContext) -> dict[str, Any]:
    # read off disk as the student uses it: a transfer set of a million examples costs no more memory than one of ten thousand
    transfer = transfer_of(ctx.runner.run_dir, ctx.config.lang, augment=ctx.input("augment"), label=ctx.input("label"))
    train = split(ctx, "train")
    ctx.log(f"training on {len(train):,} gold + {len(transfer):,} teacher-labelled examples")
    from ...students import fit_student, save_student

    student = _new_student(ctx, from_teacher=True)
    student.progress_label = "distilled student"
    result = fit_student(student, train, split(ctx, "dev"), transfer if len(transfer) else None, seed=ctx.config.seed, name=ctx.config.student)
    save_student(student, ctx.out / "model", name=ctx.config.student, figures=result)
    return _jsonable(result.as_dict())


def _student_plugin(config: RunConfig) -> list[tuple[str, str | None]]:
    return [("register_students", config.student)]
