"""`kdtext run` end to end on a tiny task: artifacts, report, resume, config, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kdtext
from kdtext.cli import cli
from kdtext.errors import ConfigError
from kdtext.pipeline import load_config
from kdtext.pipeline.recipe import STAGES, run_recipe

from teacher_fixtures import write_run_task

STAGE_NAMES = [stage.name for stage in STAGES]


def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def task(tmp_path_factory) -> Path:
    """A tiny sentiment task, a tiny BERT and a TOML config that ties them together."""
    return write_run_task(tmp_path_factory.mktemp("task"))


def test_end_to_end_artifacts_and_report(task, tmp_path):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--config", str(task / "run.toml"), "-o", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "Baseline student" in result.output and "gap recovered" in result.output
    for name in STAGE_NAMES:
        assert (run_dir / name).is_dir(), name
    assert (run_dir / "teacher" / "model" / "config.json").exists()
    assert (run_dir / "baseline" / "model" / "meta.json").exists()
    import spacy

    nlp = spacy.load(run_dir / "distilled" / "model")  # the distilled student carries the teacher's word vectors
    assert nlp.vocab.vectors.shape[1] == 8 and nlp.vocab.vectors.shape[0] > 20
    assert nlp.vocab.get_vector("good").any()
    assert spacy.load(run_dir / "baseline" / "model").vocab.vectors.shape[0] == 0  # the baseline uses nothing of the teacher
    report = json.loads((run_dir / "report.json").read_text())
    results = report["results"]
    for model in ("baseline", "teacher", "distilled"):
        for key in ("accuracy", "macro_f1", "size_bytes", "docs_per_second"):
            assert isinstance(results[model][key], (int, float)), (model, key)
        assert 0.0 <= results[model]["accuracy"] <= 1.0
        assert sum(map(sum, results[model]["confusion_matrix"]["matrix"])) == 20
    assert "gap_recovered" in results
    # how far each model can be trusted, recomputed from the predictions the evaluate stage kept
    from kdtext.data import read_labelled as _read
    from kdtext.metrics import agreement, calibration, correct_mask, mcnemar, wilson_interval

    gold = _read(run_dir / "data" / "test.jsonl", allow_empty=True)
    predictions = {m: np.load(run_dir / "evaluate" / "predictions" / f"{m}.npy") for m in ("baseline", "teacher", "distilled", "reference")}
    for model, probs in predictions.items():
        right = correct_mask(gold.targets, probs)
        figures = results[model]
        assert figures["accuracy"] == pytest.approx(right.mean())
        assert figures["accuracy_ci"] == pytest.approx(wilson_interval(int(right.sum()), len(right)))
        assert figures["ece"] == pytest.approx(calibration(gold.targets, probs)["ece"]) and len(figures["reliability"]) == 15
        assert figures["agreement_with_teacher"] == pytest.approx(agreement(probs, predictions["teacher"]))
        assert set(figures["per_class"]) == {"neg", "pos"} and set(figures["per_class"]["pos"]) >= {"precision", "recall", "f1"}
    assert results["teacher"]["agreement_with_teacher"] == 1.0
    paired = results["paired_tests"]["distilled_vs_baseline"]
    expected_test = mcnemar(correct_mask(gold.targets, predictions["distilled"]), correct_mask(gold.targets, predictions["baseline"]))
    assert paired["p_value"] == pytest.approx(expected_test["p_value"]) and paired["only_a"] == expected_test["only_a"]
    assert set(results["paired_tests"]) == {"distilled_vs_teacher", "distilled_vs_baseline", "distilled_vs_reference"}
    speed = report["speed"]
    assert speed["passes"] == 2 and speed["machine"]["cpus"] and len(speed["machine"]["load_average"]) == 3
    assert [row[0] for row in report["curves"]["teacher"]] == [1, 2]  # the teacher's dev score per epoch
    # the reference row: TF-IDF + logistic regression on the same gold data, nothing from the teacher
    from kdtext.data import read_labelled
    from kdtext.students.reference import ReferenceClassifier

    train, dev = read_labelled(task / "train.jsonl"), read_labelled(task / "dev.jsonl")
    test = read_labelled(task / "test.jsonl", train.label_space)
    refit = ReferenceClassifier.fit(train, dev)
    expected = float((refit.predict_proba(test.texts).argmax(1) == test.targets.argmax(1)).mean())
    assert results["reference"]["accuracy"] == pytest.approx(expected)
    assert report["stages"]["reference"] and "Reference: TF-IDF + LR" in result.output
    assert report["n_transfer"] == report["augment"]["n_synthetic"] + 30
    assert 0 < report["augment"]["n_synthetic"] <= 300
    assert set(report["stages"]) >= set(STAGE_NAMES) - {"report"}
    assert json.loads((run_dir / "config.json").read_text())["n_synthetic"] == 300
    page = (run_dir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "Confusion matrices" in page
    assert "Reference: TF-IDF + LR" in page
    for section in ("Are the differences real?", "Can the probabilities be trusted?", "Per class (test)", "reliability diagram",
                    "teacher: dev score during training", "Distilled student vs the reference classifier: ", "load average"):
        assert section in page, section
    assert "http" not in page.replace("http-equiv", "")  # self-contained


def test_interrupted_labelling_resumes_without_redoing_stages(task, tmp_path, monkeypatch):
    from kdtext.default_plugins.bert.teacher import BertTeacher

    real_label = BertTeacher.label

    def label_then_interrupt(self, texts=None, ids=None, **kwargs):
        if kwargs.get("cache_dir") and ids is None:  # the synthetic ids were labelled (and cached), the pool is next
            raise KeyboardInterrupt
        return real_label(self, texts, ids, **kwargs)

    config = load_config(task / "run.toml", {})
    run_dir = tmp_path / "run"
    monkeypatch.setattr(BertTeacher, "label", label_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(config, run_dir, quiet=True)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["data", "teacher", "corpus", "augment"]
    assert not (run_dir / "label").exists()

    monkeypatch.setattr(BertTeacher, "label", real_label)
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == ["data", "teacher", "corpus", "augment"]
    assert report["labelling"]["n_cached"] == report["labelling"]["n_synthetic"] > 0

    # a changed student setting reruns exactly the student stages and what follows them
    config.student_params["width"] = 8
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == ["data", "teacher", "corpus", "augment", "label", "vectors", "reference"]


def _run(task: Path, tmp_path: Path, **files: str):
    args = ["run", "--teacher-model", str(task / "bert"), "-o", str(tmp_path / "run")]
    for name in ("train", "dev", "test"):
        args += [f"--{name}", files.get(name, str(task / f"{name}.jsonl"))]
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("train", None, "train.jsonl: file does not exist"),
        ("train", '{"text": "good", "label": "pos"}\n{"text": "bad", "label": \n', "train.jsonl:2: invalid JSON"),
        ("train", '{"text": "good"}\n', "train.jsonl:1: missing 'label' field"),
        ("train", '{"text": "", "label": "pos"}\n', "train.jsonl:1: empty 'text'"),
        ("train", '{"text": "good", "label": "pos"}\n{"text": "fine", "label": "pos"}\n', "a single-label task needs at least two labels"),
        ("dev", '{"text": "ok", "label": "neutral"}\n', "dev.jsonl:1: label 'neutral' is not among the training labels"),
        ("test", b'{"text": "caf\xe9", "label": "pos"}\n', "test.jsonl:1: not valid UTF-8"),
    ],
)
def test_bad_input_is_one_line_before_any_work(task, tmp_path, name, content, message):
    path = tmp_path / f"{name}.jsonl"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    result = _run(task, tmp_path, **{name: str(path)})
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_duplicates_across_train_and_test_are_counted(task, tmp_path):
    lines = (task / "train.jsonl").read_text().splitlines(keepends=True)
    test = tmp_path / "test.jsonl"
    test.write_text("".join(lines[:3]) + (task / "test.jsonl").read_text())
    from kdtext.pipeline.recipe import STAGES
    from kdtext.pipeline.runner import Runner

    config = load_config(None, {"train": str(task / "train.jsonl"), "dev": str(task / "dev.jsonl"), "test": str(test)})
    runner = Runner(config, tmp_path / "run", STAGES[:1], quiet=True)
    runner.run()
    assert runner.manifest["stages"]["data"]["summary"]["train_test_duplicates"] == 3


def test_augmenting_the_pool_and_the_vector_source_rerun_only_what_they_touch(task, tmp_path):
    from kdtext.pipeline.artifacts import synthetic_of
    from kdtext.students.vectors import load_vectors

    pool = [f"a zanzibar{i} spectacle with quokka{i} charm and wombat{i} wit" for i in range(30)]
    _write_jsonl(tmp_path / "pool.jsonl", ({"text": t} for t in pool))
    overrides = {"augment_unlabeled": True, "vectors_from": "embeddings", "unlabeled": str(tmp_path / "pool.jsonl")}
    config = load_config(task / "run.toml", overrides)
    run_dir = tmp_path / "run"
    report = run_recipe(config, run_dir, quiet=True)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["corpus"]["summary"]["n_docs"] == 40 + 30  # train and pool texts are augmented
    synthetic = synthetic_of(run_dir)
    from_pool = [text for text in synthetic.texts() if "quokka" in text or "zanzibar" in text or "wombat" in text]
    assert 0 < len(from_pool) < len(synthetic)
    _, embedding_vectors = load_vectors(run_dir / "vectors" / "vectors.npz")
    assert report["labelling"]["n_synthetic"] == len(synthetic)

    # the vector source reruns the vectors and the distilled student; the baseline has no vectors
    config.vectors_from = "encoder"
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == ["data", "teacher", "corpus", "augment", "label", "baseline", "reference"]
    words, encoder_vectors = load_vectors(run_dir / "vectors" / "vectors.npz")
    assert encoder_vectors.shape == embedding_vectors.shape and not np.allclose(encoder_vectors, embedding_vectors)
    assert json.loads((run_dir / "manifest.json").read_text())["stages"]["vectors"]["summary"]["source"] == "encoder"

    # turning pool augmentation off reruns the corpus and what depends on it; labels come from the cache
    config.augment_unlabeled = False
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == ["data", "teacher", "baseline", "reference"]
    assert report["labelling"]["n_cached"] > 0
    assert json.loads((run_dir / "manifest.json").read_text())["stages"]["corpus"]["summary"]["n_docs"] == 40


def test_run_help_names_the_new_options():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert "--augment-unlabeled" in result.output and "--vectors-from [encoder|embeddings]" in result.output


def test_sizes_are_in_decimal_units_like_the_rest_of_kdtext():
    from kdtext.pipeline.report import human_bytes

    assert [human_bytes(n) for n in (999, 1500, 14_523_172, 438_688_794, None)] == ["999 B", "1.5 kB", "14.5 MB", "438.7 MB", "-"]


def test_several_augmenters_share_the_synthetic_set(task, tmp_path):
    from kdtext.pipeline.artifacts import synthetic_of

    config = load_config(task / "run.toml", {"augmenters": ["mask", "ngram", "pos"], "n_synthetic": 90})
    report = run_recipe(config, tmp_path / "run", quiet=True)
    per = report["augment"]["per_augmenter"]
    assert set(per) == {"mask", "ngram", "pos"} and sum(per.values()) == report["augment"]["n_synthetic"] > 0
    synthetic = synthetic_of(tmp_path / "run")
    assert any("[MASK]" in text for text in synthetic.texts())
    assert report["labelling"]["n_synthetic"] == len(synthetic)


def test_the_label_stage_labels_a_large_synthetic_set_chunk_by_chunk_with_the_same_probabilities(task, tmp_path, monkeypatch):
    """Chunks of LABEL_CHUNK examples (only one chunk's input ids in memory) give the probs.npy of one call."""
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.pipeline.runner import Runner
    from kdtext.pipeline.stages import label

    config = load_config(task / "run.toml", {})
    up_to_label = STAGES[: STAGE_NAMES.index("label") + 1]
    sizes: list[int] = []
    real_input_ids = BertTeacher.input_ids

    def counted(self, synthetic):
        sizes.append(len(synthetic))
        return real_input_ids(self, synthetic)

    monkeypatch.setattr(BertTeacher, "input_ids", counted)
    Runner(config, tmp_path / "whole", up_to_label, quiet=True).run()
    assert len(sizes) == 1 and sizes[0] > 64
    n = sizes.pop()
    monkeypatch.setattr(label, "LABEL_CHUNK", 64)
    Runner(config, tmp_path / "chunked", up_to_label, quiet=True).run()
    assert sizes == [64] * (n // 64) + ([n % 64] if n % 64 else [])
    whole, chunked = (np.load(tmp_path / name / "label" / "probs.npy") for name in ("whole", "chunked"))
    assert whole.dtype == chunked.dtype == np.float32 and whole.shape == chunked.shape == (n + 30, 2)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
    summaries = [json.loads((tmp_path / name / "manifest.json").read_text())["stages"]["label"]["summary"] for name in ("whole", "chunked")]
    assert [(s["n_synthetic"], s["n_unlabeled"], s["n_truncated"]) for s in summaries] == [(n, 30, summaries[0]["n_truncated"])] * 2


def test_rep_weight_makes_the_label_stage_collect_the_teachers_representations(task, tmp_path):
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.pipeline.artifacts import synthetic_of, transfer_of

    config = load_config(task / "run.toml", {})
    config.student_params = {**config.student_params, "rep_weight": 1.0, "rep_dims": 4}
    run_dir = tmp_path / "run"
    run_recipe(config, run_dir, quiet=True)
    reps = np.load(run_dir / "label" / "reps.npy")
    n_synthetic, n_pool = len(synthetic_of(run_dir)), 30
    assert reps.dtype == np.float16 and reps.shape == (n_synthetic + n_pool, 32)  # the tiny BERT's hidden size
    # the rows are the teacher's representations of the transfer set, in its order
    transfer = transfer_of(run_dir, "en")
    teacher = BertTeacher.load(run_dir / "teacher" / "model", device="cpu", num_threads=1)
    some = [0, n_synthetic - 1, n_synthetic, len(transfer) - 1]
    direct = teacher.label([transfer.texts[i] for i in some], representations=True, progress=False).representations
    np.testing.assert_allclose(reps[some].astype(np.float32), np.asarray(direct, np.float32), atol=2e-2)
    assert transfer.reps is not None and transfer.reps.shape == reps.shape
    curve = json.loads((run_dir / "manifest.json").read_text())["stages"]["distilled"]["summary"]["curve"]
    assert any("representation_loss" in point for point in curve)  # the student trained with them
    # without rep_weight the label stage reruns without them: no reps.npy, and the transfer set has none
    config.student_params.pop("rep_weight")
    run_recipe(config, run_dir, quiet=True)
    assert not (run_dir / "label" / "reps.npy").exists()
    assert transfer_of(run_dir, "en").reps is None


class _NoRepsTeacher:
    """A teacher plugin whose class says it gives no sentence representations."""

    @kdtext.hookimpl
    def register_teachers(self, register):
        from kdtext.default_plugins.bert.teacher import BertTeacher

        register("no-reps", type("NoReps", (BertTeacher,), {"gives_representations": False}))


def test_rep_weight_with_a_teacher_without_representations_fails_before_any_work(task, tmp_path, register_plugin):
    register_plugin(_NoRepsTeacher(), "no-reps-plugin")
    config = load_config(task / "run.toml", {})
    config.student_params = {**config.student_params, "rep_weight": 1.0}
    config.teacher = "no-reps"
    with pytest.raises(ConfigError, match=r"rep_weight=1.0 needs the teacher's sentence representations, and teacher 'no-reps' gives none"):
        run_recipe(config, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()
