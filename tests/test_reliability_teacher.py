"""Bad teacher output (NaN, inf, rows that do not sum to 1, wrong shapes) never reaches a student.

The ``kdtext run`` label stage checks whatever any teacher plugin returns, including
third-party teachers that only implement ``predict_proba`` (called in batches).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kdtext
from kdtext import labelling
from kdtext.cli import cli
from kdtext.errors import TeacherOutputError
from kdtext.pipeline import load_config
from kdtext.pipeline.recipe import run_recipe

from teacher_fixtures import POSITIVE, sentiment_data


class PlainTeacher(kdtext.Teacher):
    """A third-party teacher with predict_proba only; ``mode`` chooses how it misbehaves."""

    name = "plain"
    defaults = {"model": None, "seed": 0, "mode": "ok", "bad_row": 3}

    def __init__(self, model=None, seed=0, mode="ok", bad_row=3, **_):
        self.mode, self.bad_row = mode, int(bad_row)
        self.calls: list[int] = []

    def fit(self, train, dev=None):
        self.label_space = train.label_space
        return {}

    def predict_proba(self, texts):
        self.calls.append(len(texts))
        pos = np.array([0.9 if any(w in t.split() for w in POSITIVE) else 0.2 for t in texts], np.float32)
        probs = np.stack([1 - pos, pos], axis=1)
        bad = self.bad_row if self.bad_row < len(texts) else 0
        if self.mode == "nan":
            probs[bad, 0] = np.nan
        elif self.mode == "inf":
            probs[bad] = [np.inf, 0.0]
        elif self.mode == "sum":
            probs[bad] = [0.7, 0.7]
        elif self.mode == "negative":
            probs[bad] = [-0.25, 1.25]
        elif self.mode == "rows":
            probs = probs[:-1]
        elif self.mode == "columns":
            probs = np.concatenate([probs, np.zeros((len(texts), 1), np.float32)], axis=1)
        elif self.mode == "not-numeric":
            return [["a", "b"]] * len(texts)
        return probs

    def save(self, path):
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "plain.json").write_text(json.dumps({"mode": self.mode, "bad_row": self.bad_row}))

    @classmethod
    def load(cls, path):
        return cls(**json.loads((Path(path) / "plain.json").read_text()))

    def fingerprint(self):
        return f"plain-{self.mode}"


class LabellingTeacher(PlainTeacher):
    """A third-party teacher with its own ``label`` (like BertTeacher) that returns bad rows."""

    name = "labelling"

    def label(self, texts=None, ids=None, **options):
        from types import SimpleNamespace

        probs = self.predict_proba(list(texts))
        return SimpleNamespace(probs=probs, n_truncated=0, n_cached=0)


class TeacherPlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("plain", PlainTeacher)
        register("labelling", LabellingTeacher)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plain-task")
    for name, n, seed in (("train", 30, 0), ("dev", 12, 1), ("test", 12, 2)):
        ds = sentiment_data(n, seed=seed)
        (root / f"{name}.jsonl").write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in zip(ds.texts, ds.gold_labels())))
    (root / "pool.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in sentiment_data(9, seed=5).texts))
    (root / "model").mkdir()
    return root


def _config(files: Path, teacher: str = "plain", **teacher_params):
    return load_config(None, {
        "train": str(files / "train.jsonl"), "dev": str(files / "dev.jsonl"), "test": str(files / "test.jsonl"),
        "unlabeled": str(files / "pool.jsonl"), "teacher": teacher, "teacher_model": str(files / "model"),
        "teacher_params": teacher_params, "n_synthetic": 40, "augmenters": ["mask"],
        "student_params": {"width": 8, "embed_size": 100, "max_epochs": 1, "progress": False},
    })  # fmt: skip


def test_teacher_with_only_predict_proba_is_labelled_in_batches_and_trained_on(register_plugin, files, tmp_path, monkeypatch):
    register_plugin(TeacherPlugin(), "plain-teacher", distribution=("kdtext-plain", "0.1"))
    monkeypatch.setattr(labelling, "PREDICT_BATCH", 16)
    from kdtext.labelling.engine import LocalEngine

    calls: list[int] = []
    real = PlainTeacher.predict_proba
    monkeypatch.setattr(PlainTeacher, "predict_proba", lambda self, texts: calls.append(len(texts)) or real(self, texts))
    engine_calls: list[dict] = []
    real_label = LocalEngine.label
    monkeypatch.setattr(LocalEngine, "label", lambda self, *a, **k: engine_calls.append(k) or real_label(self, *a, **k))
    report = run_recipe(_config(files), tmp_path / "run", quiet=True)
    # the label stage labels through the engine, like `kdtext label`: synthetic examples, then the pool
    assert [call["where"](0) for call in engine_calls] == ["synthetic example 0", "unlabelled text 0"]
    n_synthetic = report["augment"]["n_synthetic"]
    probs = np.load(tmp_path / "run" / "label" / "probs.npy")
    assert probs.shape == (n_synthetic + 9, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert max(calls[: -1]) <= 16  # batched (the last call is the test set's evaluation)
    assert report["results"]["distilled"]["accuracy"] >= 0


BAD = [
    ("nan", "NaN or infinite probabilities for 1 of"),
    ("inf", "NaN or infinite probabilities"),
    ("sum", "do not sum to 1 for 1 of"),
    ("negative", "outside [0, 1]"),
    ("rows", "expected (16, 2)"),
    ("columns", "of shape (16, 3), expected (16, 2)"),
    ("not-numeric", "not a numeric matrix"),
]


@pytest.mark.parametrize("teacher", ["plain", "labelling"])
@pytest.mark.parametrize("mode, message", BAD, ids=[b[0] for b in BAD])
def test_bad_teacher_output_stops_the_run_before_any_student_sees_it(register_plugin, files, tmp_path, monkeypatch, teacher, mode, message):
    register_plugin(TeacherPlugin(), "plain-teacher", distribution=("kdtext-plain", "0.1"))
    monkeypatch.setattr(labelling, "PREDICT_BATCH", 16)
    run_dir = tmp_path / "run"
    with pytest.raises(TeacherOutputError) as info:
        run_recipe(_config(files, teacher, mode=mode), run_dir, quiet=True)
    text = str(info.value)
    assert f"teacher {teacher!r}" in text
    if teacher == "plain" or mode not in ("rows", "columns"):  # "labelling" labels everything in one call
        assert message in text, text
    if mode in ("nan", "sum", "inf"):
        assert "synthetic example 3" in text, text  # the bad row, located
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["data", "teacher", "corpus", "augment"]
    assert not (run_dir / "label").exists() and not (run_dir / "distilled").exists()
    assert not list(run_dir.glob(".*.partial"))


def test_bad_teacher_output_via_the_cli_is_one_line(register_plugin, files, tmp_path):
    register_plugin(TeacherPlugin(), "plain-teacher", distribution=("kdtext-plain", "0.1"))
    args = ["run", "--train", str(files / "train.jsonl"), "--dev", str(files / "dev.jsonl"), "--test", str(files / "test.jsonl"),
            "--teacher", "plain", "--teacher-model", str(files / "model"), "--teacher-param", "mode=nan",
            "--teacher-param", "bad_row=0", "--augmenter", "mask", "--n-synthetic", "20", "-o", str(tmp_path / "run")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: teacher 'plain' returned NaN or infinite probabilities") and "synthetic example 0" in last
    assert "Traceback" not in result.output
