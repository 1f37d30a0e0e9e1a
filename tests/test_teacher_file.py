"""The ``file`` teacher: soft labels from a JSONL/CSV file the user already has."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdtext.data import Dataset
from kdtext.errors import DataError, ModelError, TeacherOutputError
from kdtext.labels import LabelSpace
from kdtext.plugins import get_teacher
from kdtext.default_plugins.file import FileTeacher

ROWS = [
    {"text": "good movie", "probs": {"neg": 0.1, "pos": 0.9}},
    {"text": "bad film", "probs": {"neg": 0.8, "pos": 0.2}},
    {"text": "it was okay", "probs": {"pos": 0.45, "neg": 0.55}},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_file_teacher_from_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "soft.jsonl", ROWS)
    teacher = get_teacher("file")(path=str(path))
    train = Dataset.from_labels(["good movie", "bad film"], ["pos", "neg"])
    figures = teacher.fit(train)
    assert figures == {"source": str(path), "n_rows": 3, "train_covered": 2}
    assert teacher.label_space == LabelSpace(("neg", "pos"))
    probs = teacher.predict_proba(["it was okay", "good movie", "good movie"])
    np.testing.assert_allclose(probs, [[0.55, 0.45], [0.1, 0.9], [0.1, 0.9]], atol=1e-7)
    assert probs.dtype == np.float32
    with pytest.raises(NotImplementedError):
        teacher.predict_logits(["good movie"])


def test_file_teacher_from_csv_without_fit(tmp_path):
    path = tmp_path / "soft.csv"
    lines = ["text,probs"] + [f"{row['text']},\"{json.dumps(row['probs']).replace(chr(34), chr(34) * 2)}\"" for row in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    teacher = FileTeacher.load(path)  # a file is a teacher too; labels from the first row
    np.testing.assert_allclose(teacher.predict_proba(["bad film"]), [[0.8, 0.2]], atol=1e-7)
    assert teacher.label_space == LabelSpace(("neg", "pos"))


def test_missing_text_is_a_clear_error(tmp_path):
    teacher = FileTeacher(path=str(write_jsonl(tmp_path / "soft.jsonl", ROWS)))
    with pytest.raises(TeacherOutputError, match=r"1 of 2 texts are not in .*soft.jsonl \(first: example 1, 'unseen'\)"):
        teacher.predict_proba(["good movie", "unseen"])


def test_bad_rows_are_reported_by_line(tmp_path):
    rows = ROWS + [{"text": "dull", "probs": {"neg": 0.5, "pos": 0.6}}]
    teacher = FileTeacher(path=str(write_jsonl(tmp_path / "soft.jsonl", rows)), labels=["neg", "pos"])
    with pytest.raises(DataError, match=r"soft.jsonl:4: probabilities sum to 1.1000"):
        teacher.predict_proba(["dull"])
    rows = ROWS + [{"text": "good movie", "probs": {"neg": 0.5, "pos": 0.5}}]
    teacher = FileTeacher(path=str(write_jsonl(tmp_path / "dup.jsonl", rows)), labels=["neg", "pos"])
    with pytest.raises(DataError, match="dup.jsonl:4: the same text has different probabilities on line 1"):
        teacher.predict_proba(["good movie"])
    teacher = FileTeacher(path=str(write_jsonl(tmp_path / "other.jsonl", ROWS)), labels=["neg", "neutral", "pos"])
    with pytest.raises(DataError, match="other.jsonl:1: 'probs' lacks label"):
        teacher.predict_proba(["good movie"])


def test_labels_disagreeing_with_the_data(tmp_path):
    path = write_jsonl(tmp_path / "soft.jsonl", ROWS)
    train = Dataset.from_labels(["a", "b", "c"], ["x", "y", "z"])
    with pytest.raises(DataError, match=r"soft.jsonl:1: unknown label 'neg'"):
        FileTeacher(path=str(path)).fit(train)
    with pytest.raises(ModelError, match="differ from the training labels"):
        FileTeacher(path=str(path), labels=["neg", "pos"]).fit(train)


def test_multilabel_soft_labels(tmp_path):
    rows = [{"text": "a", "probs": {"x": 0.9, "y": 0.8}}, {"text": "b", "probs": {"x": 0.1, "y": 0.0}}]
    teacher = FileTeacher(path=str(write_jsonl(tmp_path / "ml.jsonl", rows)))
    np.testing.assert_allclose(teacher.predict_proba(["a", "b"]), [[0.9, 0.8], [0.1, 0.0]], atol=1e-7)
    assert teacher.label_space.multilabel


def test_save_and_load(tmp_path):
    teacher = FileTeacher(path=str(write_jsonl(tmp_path / "soft.jsonl", ROWS)))
    teacher.save(tmp_path / "saved")
    loaded = FileTeacher.load(tmp_path / "saved")
    assert loaded.label_space == teacher.label_space
    np.testing.assert_array_equal(loaded.predict_proba(["good movie"]), teacher.predict_proba(["good movie"]))
    assert loaded.fingerprint() == teacher.fingerprint() and loaded.fingerprint().startswith("file-")
    with pytest.raises(ModelError, match="not a saved 'file' teacher"):
        FileTeacher.load(tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        FileTeacher.load(tmp_path / "missing.jsonl")


def test_empty_file_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="empty.jsonl: no examples in the file"):
        FileTeacher(path=str(tmp_path / "empty.jsonl")).predict_proba(["x"])
