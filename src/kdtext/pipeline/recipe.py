"""The stages of ``kdtext run`` and the function that runs them."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import plugins
from ..base import resolve_params
from ..data import Dataset, read_labelled, read_texts
from ..errors import ConfigError, DataError, ModelError
from ..io import atomic_write, write_json, write_jsonl
from ..labels import LabelSpace
from ..rounds import rounds_for
from .config import RunConfig
from .report import gap_recovered, html_report
from .runner import Runner, Stage, StageContext, sha256_file

# -- data -----------------------------------------------------------------------------------


def _data_settings(config: RunConfig) -> Any:
    if config.data is not None:
        return {"data": config.data}
    files = {name: getattr(config, name) for name in ("train", "dev", "test", "unlabeled")}
    return {name: (sha256_file(Path(path)) if path and Path(path).is_file() else path) for name, path in files.items()}


def _gold_rows(dataset: Dataset) -> list[dict[str, Any]]:
    rows = []
    for text, label in zip(dataset.texts, dataset.gold_labels()):
        rows.append({"text": text, "label": list(label) if isinstance(label, tuple) else label})
    return rows


def load_inputs(config: RunConfig) -> tuple[Dataset, Dataset, Dataset, list[str]]:
    """Train, dev, test and unlabelled texts, validated: every problem is one clear error."""
    if config.data is not None:
        from ..datasets import builtin_splits

        train, dev, test, pool = builtin_splits(config.data, seed=0)
        return train, dev, test, list(pool)
    train = read_labelled(config.train)
    dev = read_labelled(config.dev, train.label_space)
    test = read_labelled(config.test, train.label_space)
    for dataset in (train, dev, test):
        _check_lengths(dataset.texts, dataset.source, dataset.lines)
    pool = read_texts(config.unlabeled) if config.unlabeled else []
    if pool:
        _check_lengths(pool, config.unlabeled, None)
    return train, dev, test, pool


def _check_lengths(texts: list[str], source: Any, lines: list[int] | None) -> None:
    """Texts the tokenizers refuse (over :data:`kdtext.corpus.MAX_CHARS`) fail here, before any work, with their line."""
    from ..corpus import MAX_CHARS

    for i, text in enumerate(texts):
        if len(text) > MAX_CHARS:
            if lines is None:  # read_texts skips blank lines: find the line again
                from ..data import iter_records

                lines = [record.line for record in iter_records(source)]
            raise DataError(
                source, lines[i],
                f"text is {len(text):,} characters long, over the limit of {MAX_CHARS:,}; split long documents into paragraphs first",
            )  # fmt: skip


def stage_data(ctx: StageContext) -> dict[str, Any]:
    train, dev, test, pool = load_inputs(ctx.config)
    train_texts = set(train.texts)
    overlap = sum(1 for text in test.texts if text in train_texts)
    if overlap:
        ctx.log(f"warning: {overlap} test example(s) also appear in train; test figures will be optimistic")
    for name, dataset in (("train", train), ("dev", dev), ("test", test)):
        write_jsonl(ctx.out / f"{name}.jsonl", _gold_rows(dataset))
    write_jsonl(ctx.out / "unlabeled.jsonl", ({"text": t} for t in pool))
    write_json(ctx.out / "labels.json", train.label_space.to_json())
    ctx.log(
        f"{len(train)} train, {len(dev)} dev, {len(test)} test, {len(pool)} unlabelled; "
        f"{train.label_space.task}: {', '.join(train.label_space.labels)}"
    )
    return {
        "n_train": len(train),
        "n_dev": len(dev),
        "n_test": len(test),
        "n_unlabeled": len(pool),
        "labels": list(train.label_space.labels),
        "task": train.label_space.task,
        "train_test_duplicates": overlap,
    }


def label_space_of(ctx: StageContext) -> LabelSpace:
    return LabelSpace.from_json(json.loads((ctx.input("data") / "labels.json").read_text("utf-8")))


def split_of(run_dir: Path, name: str) -> Dataset:
    """The ``train``, ``dev`` or ``test`` split of a run, as its data stage wrote it."""
    space = LabelSpace.from_json(json.loads((run_dir / "data" / "labels.json").read_text("utf-8")))
    return read_labelled(run_dir / "data" / f"{name}.jsonl", space, allow_empty=True)


def split(ctx: StageContext, name: str) -> Dataset:
    return split_of(ctx.runner.run_dir, name)


def unlabeled(ctx: StageContext) -> list[str]:
    path = ctx.input("data") / "unlabeled.jsonl"
    return read_texts(path) if path.stat().st_size else []


# -- teacher --------------------------------------------------------------------------------


def _teacher_source(config: RunConfig) -> str | None:
    """``--teacher-model``, the default model of a teacher that takes one, or None (a teacher without ``model``)."""
    if config.teacher_model:
        return config.teacher_model
    cls = plugins.get_teacher(config.teacher)
    if "model" not in cls.defaults:
        return None
    path = cls.default_model()
    if path is None:
        raise ConfigError(f"teacher {config.teacher!r} needs --teacher-model")
    return path


def _path_fingerprint(source: str | None) -> Any:
    """What identifies a model folder's content cheaply: names, sizes and modification times."""
    if source is None:
        return None
    path = Path(source)
    if not path.exists():
        return source  # a hub name
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(p.relative_to(path)) if path.is_dir() else p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in files]


def _teacher_settings(config: RunConfig) -> Any:
    return {
        "teacher": config.teacher,
        "model": _path_fingerprint(_teacher_source(config)),
        "params": config.teacher_params,
        "seed": config.seed,
    }


def stage_teacher(ctx: StageContext) -> dict[str, Any]:
    """The teacher contract (:class:`kdtext.Teacher`): ``load`` a saved one, else ``from_config`` + ``fit``."""
    config = ctx.config
    cls = plugins.get_teacher(config.teacher)
    source = _teacher_source(config)
    train, dev = split(ctx, "train"), split(ctx, "dev")
    if source is not None and cls.is_saved(source):
        ctx.log(f"loading the finetuned teacher in {source}")
        teacher = cls.load(source)
        teacher.check_labels(train.label_space, where=str(source))
        figures: dict[str, Any] = {"finetuned": False}
    else:
        teacher = cls.from_config(model=source, seed=config.seed, **config.teacher_params)
        if cls.trainable:
            ctx.log(f"finetuning {source or config.teacher} on {len(train)} examples")
        figures = {"finetuned": cls.trainable, **(teacher.fit(train, dev) or {})}
    teacher.save(ctx.out / "model")
    return {"mask_token": teacher.mask_token, "source": source, "figures": _jsonable(figures)}


def load_teacher(ctx: StageContext) -> Any:
    return plugins.get_teacher(ctx.config.teacher).load(ctx.input("teacher") / "model")


# -- corpus and augmentation ----------------------------------------------------------------


def _augmenter_instances(config: RunConfig, mask_token: str | None, n_docs: int = 0) -> list[Any]:
    """One augmenter per name, each with the shared parameters it knows.

    Unless ``n_iter`` is set, each augmenter gets enough rounds over the ``n_docs``
    source texts to make its share of ``n_synthetic`` (Tang et al.'s 20 rounds give
    only about 18 distinct examples per text once duplicates are dropped).
    """
    instances = []
    share = -(-config.n_synthetic // max(len(config.augmenters), 1))
    for name in config.augmenters:
        cls = plugins.get_augmenter(name)
        params = {k: v for k, v in config.augment_params.items() if k in cls.defaults}
        if mask_token and "mask_token" in cls.defaults and "mask_token" not in params:
            params["mask_token"] = mask_token
        if n_docs and "n_iter" in cls.defaults and "n_iter" not in params:
            params["n_iter"] = rounds_for(share, n_docs, cls.defaults["n_iter"])
        instances.append(cls(**params))
    unknown = set(config.augment_params) - {k for name in config.augmenters for k in plugins.get_augmenter(name).defaults}
    if unknown:
        raise ConfigError(f"no augmenter among {', '.join(config.augmenters)} takes parameter(s) {', '.join(sorted(unknown))}")
    return instances


def _needs_tags(config: RunConfig) -> bool:
    """Whether some augmenter, as configured, reads POS tags (``Augmenter.needs_tags`` of the instance)."""
    return any(augmenter.needs_tags for augmenter in _augmenter_instances(config, None))


def stage_corpus(ctx: StageContext) -> dict[str, Any]:
    from ..corpus import CorpusBuilder

    config = ctx.config
    train = split(ctx, "train")
    tagger = "auto" if config.n_synthetic and _needs_tags(config) else None
    builder = CorpusBuilder(config.lang, tagger)
    pool = unlabeled(ctx) if config.augment_unlabeled else []
    from tqdm.auto import tqdm

    what = "tokenizing and tagging" if tagger else "tokenizing"
    with tqdm(total=len(train) + len(pool), desc=what, unit=" texts", file=sys.stderr, leave=False, disable=ctx.runner.quiet) as bar:
        builder.add(train.texts, source=train.source, lines=train.lines, progress=bar.update)
        if pool:
            builder.add(pool, source=ctx.input("data") / "unlabeled.jsonl", lines=range(1, len(pool) + 1), progress=bar.update)
    corpus = builder.build()
    corpus.save(ctx.out / "corpus")
    tagged = corpus.tagged
    if tagger and not tagged:
        from ..languages import tagger_install_hint

        ctx.log(f"no POS tagger for {config.lang!r}: same-POS word replacement is off ({tagger_install_hint(config.lang)})")
    return {"n_docs": corpus.n_docs, "n_tokens": corpus.n_tokens, "vocab": len(corpus.vocab), "tagged": tagged}


def _corpus_settings(config: RunConfig) -> Any:
    settings = {"lang": config.lang, "tags": bool(config.n_synthetic) and _needs_tags(config)}
    if config.augment_unlabeled:  # only when on, so runs made before the option keep their fingerprint
        settings["unlabeled"] = True
    return settings


def stage_augment(ctx: StageContext) -> dict[str, Any]:
    from ..augment import SyntheticSet
    from ..corpus import TokenizedCorpus

    config = ctx.config
    corpus = TokenizedCorpus.load(ctx.input("corpus") / "corpus")
    augmenters = _augmenter_instances(config, ctx.summary("teacher").get("mask_token"), corpus.n_docs)
    parts, notes, figures = [], [], {}
    engine = _engine(config)
    share, extra = divmod(config.n_synthetic, max(len(augmenters), 1))
    for i, augmenter in enumerate(augmenters):
        n = share + (1 if i < extra else 0)
        part, figures[augmenter.name] = engine.augment(corpus, augmenter, n, seed=config.seed + 1000 * i)
        ctx.log(f"{augmenter.name}: {len(part):,} synthetic examples ({_rate_line(figures[augmenter.name])})")
        notes.extend(getattr(part, "notes", []) or [])
        parts.append(part)
    synthetic = SyntheticSet.concat(parts) if parts else SyntheticSet.empty(corpus.vocab)
    synthetic.save(ctx.out / "synthetic.npz")
    for note in notes:
        ctx.log(f"note: {note}")
    return {
        "n_synthetic": len(synthetic), "per_augmenter": {a.name: len(p) for a, p in zip(augmenters, parts)}, "notes": notes,
        "engine": {"name": config.engine, "per_augmenter": figures},
    }  # fmt: skip


def _engine(config: RunConfig) -> Any:
    """The run's engine; a local Ray instance it starts stays up for the next stage."""
    from ..engine import get_engine

    return get_engine(config.engine, config.ray_address, **({"keep_alive": True} if config.engine == "ray" else {}))


def _rate_line(figures: dict[str, Any]) -> str:
    workers = figures.get("workers", 1)
    return f"{figures.get('examples_per_second') or 0:,.0f} examples/s on {workers} worker{'s' if workers != 1 else ''}"


def _augment_settings(config: RunConfig) -> Any:
    return {
        "augmenters": config.augmenters,
        "params": config.augment_params,
        "n": config.n_synthetic,
        "seed": config.seed,
        # the mask token comes from the teacher's base model, not from its finetuning
        "teacher": (config.teacher, _teacher_source(config)),
    }


# -- labelling ------------------------------------------------------------------------------


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
    from ..teacher.validate import check_teacher_output

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
    from ..augment import SyntheticSet

    config = ctx.config
    teacher = load_teacher(ctx)
    if config.engine != "local":  # any teacher: the engine's workers label through the teacher contract
        from ..engine import EngineTeacher

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
        tokenizer = teacher.tokenizer
        if teacher.label is not None and tokenizer is not None and getattr(tokenizer, "is_fast", False):
            got = _teacher_probs(teacher, config.teacher, space, "synthetic example", _bar(options, config, "synthetic examples"), ids=synthetic.teacher_ids(tokenizer).tolist())
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


def load_transfer(run_dir: Path, lang: str) -> tuple[Dataset, Dataset]:
    """The teacher-labelled synthetic examples and unlabelled pool of a run, as two soft datasets."""
    from ..augment import SyntheticSet
    from ..corpus import TokenizedCorpus

    space = LabelSpace.from_json(json.loads((run_dir / "data" / "labels.json").read_text("utf-8")))
    probs = np.load(run_dir / "label" / "probs.npy")
    synthetic = SyntheticSet.load(run_dir / "augment" / "synthetic.npz")
    pool_file = run_dir / "data" / "unlabeled.jsonl"
    pool = read_texts(pool_file) if pool_file.stat().st_size else []
    n = len(synthetic)
    if probs.shape != (n + len(pool), len(space)):
        raise ModelError(f"the labels in {run_dir / 'label'} do not match the transfer set; delete that folder and rerun")
    pool_corpus = TokenizedCorpus.from_texts(pool, lang=lang, tagger=None)
    pool_data = Dataset(
        pool,
        probs[n:],
        space,
        soft=True,
        words=[pool_corpus.doc_words(i) for i in range(pool_corpus.n_docs)],
        spaces=[pool_corpus.doc_spaces(i) for i in range(pool_corpus.n_docs)],
    )
    return synthetic.to_dataset(probs[:n], space, soft=True), pool_data


def concat(a: Dataset, b: Dataset) -> Dataset:
    """Two soft datasets (with words and spaces) as one."""
    return Dataset(
        a.texts + b.texts,
        np.concatenate([a.targets, b.targets]),
        a.label_space,
        soft=True,
        words=(a.words or []) + (b.words or []),
        spaces=(a.spaces or []) + (b.spaces or []),
    )


# -- students -------------------------------------------------------------------------------


def _student_settings(config: RunConfig) -> Any:
    return {"student": config.student, "params": config.student_params, "lang": config.lang, "seed": config.seed}


def stage_vectors(ctx: StageContext) -> dict[str, Any]:
    """Static word vectors for the distilled student from the teacher (see :mod:`kdtext.vectors`)."""
    from tqdm.auto import tqdm

    from ..corpus import TokenizedCorpus
    from ..vectors import save_vectors, teacher_vocabulary, word_vectors

    config = ctx.config
    if not config.teacher_vectors:
        return {"dims": 0}
    teacher = load_teacher(ctx)
    model = teacher.model
    if teacher.tokenizer is None or not hasattr(model, "get_input_embeddings"):
        note = f"teacher {config.teacher!r} is not a Hugging Face model: the distilled student gets no word vectors"
        ctx.log(f"note: {note}")
        return {"dims": 0, "note": note}
    corpus = TokenizedCorpus.load(ctx.input("corpus") / "corpus")
    pool = TokenizedCorpus.from_texts(unlabeled(ctx), lang=config.lang, tagger=None)
    words = set(corpus.vocab) | set(pool.vocab) | set(teacher_vocabulary(teacher.tokenizer))
    started = time.perf_counter()
    with tqdm(total=len(words), unit=" words", desc="word vectors", file=sys.stderr, leave=False, disable=config.vectors_from != "encoder") as bar:
        kept, vectors = word_vectors(teacher, words, dims=config.teacher_vectors, source=config.vectors_from, progress=bar.update)
    seconds = time.perf_counter() - started
    ctx.log(f"{len(kept):,} word vectors of {vectors.shape[1]} dimensions from the teacher's {config.vectors_from} in {seconds:.1f}s")
    save_vectors(ctx.out / "vectors.npz", kept, vectors)
    return {"dims": int(vectors.shape[1]), "words": len(kept), "source": config.vectors_from, "seconds": round(seconds, 3)}


def _vectors_settings(config: RunConfig) -> Any:
    if config.vectors_from == "embeddings":  # the setting before vectors_from existed keeps its fingerprint
        return config.teacher_vectors
    return {"dims": config.teacher_vectors, "from": config.vectors_from}


def _new_student(ctx: StageContext, with_vectors: bool) -> Any:
    config = ctx.config
    cls = plugins.get_student(config.student)
    params = dict(config.student_params)
    defaults = cls.defaults  # the student contract: lang and vectors only to students that declare them
    if "lang" in defaults:
        params.setdefault("lang", config.lang)
    if with_vectors and "vectors" in defaults and (ctx.input("vectors") / "vectors.npz").exists():
        params.setdefault("vectors", str(ctx.input("vectors") / "vectors.npz"))
    return cls(**params)


def stage_baseline(ctx: StageContext) -> dict[str, Any]:
    """The student on the gold data alone, with nothing from the teacher (not its word vectors either)."""
    from ..student import fit_student, save_student

    student = _new_student(ctx, with_vectors=False)
    result = fit_student(student, split(ctx, "train"), split(ctx, "dev"), seed=ctx.config.seed, name=ctx.config.student)
    save_student(student, ctx.out / "model", name=ctx.config.student, figures=result)
    return _jsonable(result.as_dict())


def stage_distilled(ctx: StageContext) -> dict[str, Any]:
    transfer = concat(*load_transfer(ctx.runner.run_dir, ctx.config.lang))
    ctx.log(f"training on {len(split(ctx, 'train')):,} gold + {len(transfer):,} teacher-labelled examples")
    from ..student import fit_student, save_student

    student = _new_student(ctx, with_vectors=True)
    result = fit_student(
        student, split(ctx, "train"), split(ctx, "dev"), transfer if len(transfer) else None, seed=ctx.config.seed, name=ctx.config.student
    )
    save_student(student, ctx.out / "model", name=ctx.config.student, figures=result)
    return _jsonable(result.as_dict())


# -- evaluation and report ------------------------------------------------------------------


def stage_reference(ctx: StageContext) -> dict[str, Any]:
    """The off-the-shelf classifier on the gold data alone (:mod:`kdtext.reference`): is distillation worth it?"""
    from ..reference import DESCRIPTION, ReferenceClassifier

    started = time.perf_counter()
    model = ReferenceClassifier.fit(split(ctx, "train"), split(ctx, "dev"), seed=ctx.config.seed)
    model.save(ctx.out / "model")
    seconds = time.perf_counter() - started
    ctx.log(f"{DESCRIPTION}: dev {model.dev_score:.4f} with C={model.C:g}, in {seconds:.1f}s")
    return {"model": DESCRIPTION, "C": model.C, "best_dev_score": model.dev_score, "train_seconds": round(seconds, 3)}


def stage_evaluate(ctx: StageContext) -> dict[str, Any]:
    from ..base import directory_size
    from ..metrics import evaluate_predictions
    from ..reference import ReferenceClassifier
    from ..student import load_student

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
    from ..io import write_json

    write_json(ctx.out / "results.json", _jsonable(results))
    return {"results": _jsonable(results)}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("kdtext", "torch", "transformers", "spacy", "thinc", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def _plugin_versions(runner: Runner) -> dict[str, str]:
    """Distribution -> version of each third-party plugin the run's stages used (from the manifest)."""
    found: dict[str, str] = {}
    for entry in runner.manifest["stages"].values():
        found.update(entry.get("plugins") or {})
    return dict(sorted(found.items()))


def build_report(runner: Runner) -> dict[str, Any]:
    stages = runner.manifest["stages"]
    data = stages["data"]["summary"]
    results = stages["evaluate"]["summary"]["results"]
    curves = {
        name: [[point["step"], point["dev_score"]] for point in stages[name]["summary"].get("curve", []) if "dev_score" in point]
        for name in ("baseline", "distilled")
    }
    return {
        "kdtext_report": 1,
        "task": data["task"],
        "labels": data["labels"],
        "n_train": data["n_train"],
        "n_dev": data["n_dev"],
        "n_test": data["n_test"],
        "n_transfer": stages["label"]["summary"]["n_synthetic"] + stages["label"]["summary"]["n_unlabeled"],
        "results": results,
        "curves": curves,
        "teacher": stages["teacher"]["summary"],
        "augment": stages["augment"]["summary"],
        "labelling": stages["label"]["summary"],
        "training": {name: {k: v for k, v in stages[name]["summary"].items() if k != "curve"} for name in ("baseline", "distilled")},
        "stages": {name: {"seconds": entry["seconds"], "finished": entry["finished"]} for name, entry in stages.items() if name != "report"},
        "config": runner.config.to_json(),
        "versions": {**_versions(), **_plugin_versions(runner)},
    }


def stage_report(ctx: StageContext) -> dict[str, Any]:
    report = build_report(ctx.runner)
    write_json(ctx.out / "report.json", report)
    with atomic_write(ctx.out / "report.html") as handle:
        handle.write(html_report(report))
    return {}


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into plain Python, for JSON."""
    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


# which plugins each stage runs: their distributions and versions are part of its fingerprint


def _teacher_plugin(config: RunConfig) -> list[tuple[str, str | None]]:
    return [("register_teachers", config.teacher)]


def _tagger_plugin(config: RunConfig) -> list[tuple[str, str | None]]:
    from ..tagging import best_tagger

    return [("register_taggers", best_tagger(config.lang) if config.n_synthetic and _needs_tags(config) else None)]


def _augmenter_plugins(config: RunConfig) -> list[tuple[str, str | None]]:
    return [("register_augmenters", name) for name in config.augmenters]


def _student_plugin(config: RunConfig) -> list[tuple[str, str | None]]:
    return [("register_students", config.student)]


STAGES = [
    Stage("data", "load and validate data", stage_data, settings=_data_settings),
    Stage("teacher", "finetune or load the teacher", stage_teacher, settings=_teacher_settings, depends=("data",), plugins=_teacher_plugin),
    Stage("corpus", "tokenize and tag", stage_corpus, settings=_corpus_settings, depends=("data",), plugins=_tagger_plugin),
    Stage("augment", "augment the texts into synthetic examples", stage_augment, settings=_augment_settings, depends=("corpus",), plugins=_augmenter_plugins),
    Stage("label", "label with the teacher", stage_label, settings=_label_settings, depends=("teacher", "augment", "data"), plugins=_teacher_plugin),
    Stage("vectors", "word vectors for the student", stage_vectors, settings=_vectors_settings, depends=("teacher", "corpus", "data")),
    Stage("baseline", "train the baseline student", stage_baseline, settings=_student_settings, depends=("data",), plugins=_student_plugin),
    Stage("distilled", "train the distilled student", stage_distilled, settings=_student_settings, depends=("data", "label", "vectors"), plugins=_student_plugin),
    Stage("reference", "train the reference classifier (TF-IDF + logistic regression, gold data only)", stage_reference, settings=lambda c: {"seed": c.seed, "model": "tfidf-lr-1"}, depends=("data",)),
    Stage("evaluate", "evaluate the four models on test", stage_evaluate, depends=("teacher", "baseline", "distilled", "reference", "data")),
    Stage("report", "write report.json and report.html", stage_report, settings=lambda c: c.to_json(), depends=("evaluate",)),
]


def check_plugins(config: RunConfig) -> None:
    """Resolve every plugin name (and the language) now, so a typo fails before any work is done."""
    from ..corpus import check_language

    check_language(config.lang)
    teacher = plugins.get_teacher(config.teacher)
    if teacher.run_unsupported:
        raise ConfigError(f"teacher {config.teacher!r} cannot be used in `kdtext run`: {teacher.run_unsupported}")
    resolve_params(teacher, config.teacher_params)
    resolve_params(plugins.get_student(config.student), config.student_params)
    _augmenter_instances(config, None)
    if config.engine == "ray":
        from ..engine import RAY_INSTALL_HINT, ray_available

        if not ray_available():
            raise ConfigError(f"--engine ray needs Ray, which is not installed: {RAY_INSTALL_HINT}")


def run_recipe(config: RunConfig, run_dir: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) every stage in ``run_dir``; returns the report."""
    check_plugins(config)
    if config.data is None:
        load_inputs(config)  # validate every file before anything else starts
    runner = Runner(config, run_dir, STAGES, quiet=quiet)
    runner.run()
    write_json(run_dir / "config.json", config.to_json())
    report = json.loads((run_dir / "report" / "report.json").read_text("utf-8"))
    # the top-level copies people open; rewritten each time so they match the manifest
    report["stages"] = {
        name: {"seconds": entry["seconds"], "finished": entry["finished"]} for name, entry in runner.manifest["stages"].items()
    }
    report["resumed"] = runner.skipped
    write_json(run_dir / "report.json", report)
    with atomic_write(run_dir / "report.html") as handle:
        handle.write(html_report(report))
    return report
