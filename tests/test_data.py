"""Reading labelled, unlabelled and soft-labelled files: formats and every bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdtext.data import Dataset, iter_records, read_labelled, read_soft_labels, read_texts
from kdtext.errors import DataError
from kdtext.io import write_jsonl
from kdtext.labels import LabelSpace


def write(path, content: str | bytes):
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_jsonl_binary(tmp_path):
    p = write(tmp_path / "t.jsonl", '{"text": "good", "label": "pos"}\n\n{"text": "bad", "label": "neg"}\n')
    ds = read_labelled(p)
    assert ds.texts == ["good", "bad"]
    assert ds.label_space == LabelSpace(("neg", "pos"))
    assert ds.label_space.task == "binary"
    np.testing.assert_array_equal(ds.targets, [[0, 1], [1, 0]])
    assert ds.lines == [1, 3]
    assert ds.where(1) == f"{p}:3"


def test_csv_with_bom_crlf_and_quoted_newline(tmp_path):
    p = write(tmp_path / "t.csv", b'\xef\xbb\xbftext,label\r\n"multi\nline, text",a\r\nplain,b\r\n')
    ds = read_labelled(p)
    assert ds.texts == ["multi\nline, text", "plain"]
    assert ds.gold_labels() == ["a", "b"]
    assert ds.lines == [3, 4]


def test_multilabel_jsonl_and_csv(tmp_path):
    j = write(tmp_path / "m.jsonl", '{"text": "x", "label": ["a", "b"]}\n{"text": "y", "label": ["c"]}\n')
    ds = read_labelled(j)
    assert ds.label_space == LabelSpace(("a", "b", "c"), multilabel=True)
    np.testing.assert_array_equal(ds.targets, [[1, 1, 0], [0, 0, 1]])
    c = write(tmp_path / "m.csv", 'text,label\nx,"[""a"", ""c""]"\n')
    assert read_labelled(c, ds.label_space).gold_labels() == [("a", "c")]


def test_multiclass_and_integer_labels(tmp_path):
    p = write(tmp_path / "t.jsonl", "".join(json.dumps({"text": f"t{i}", "label": i % 3}) + "\n" for i in range(6)))
    ds = read_labelled(p)
    assert ds.label_space.task == "multiclass"
    assert ds.label_space.labels == ("0", "1", "2")


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"text": "a", "label": "x"}\n{"text": "b", "label": \n', r"t.jsonl:2: invalid JSON"),
        ('{"text": "a", "label": "x"}\n{"label": "y"}\n', r"t.jsonl:2: missing 'text' field"),
        ('{"text": "a"}\n', r"t.jsonl:1: missing 'label' field"),
        ('{"text": "   ", "label": "x"}\n', r"t.jsonl:1: empty 'text'"),
        ('{"text": 3, "label": "x"}\n', r"t.jsonl:1: 'text' must be a string, got int"),
        ('{"text": "a", "label": 1.5}\n', r"t.jsonl:1: 'label' must be a string or a list of strings, got 1.5"),
        ('{"text": "a", "label": null}\n', r"t.jsonl:1: 'label' must be a string or a list of strings"),
        ('["a", "x"]\n', r"t.jsonl:1: expected a JSON object, got list"),
        ('{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n', r"t.jsonl: a single-label task needs at least two labels"),
        ("", r"t.jsonl: no examples in the file"),
    ],
)
def test_bad_jsonl(tmp_path, content, message):
    p = write(tmp_path / "t.jsonl", content)
    with pytest.raises(DataError, match=message):
        read_labelled(p)


def test_non_utf8_names_the_line(tmp_path):
    p = write(tmp_path / "t.jsonl", b'{"text": "ok", "label": "a"}\n{"text": "caf\xe9", "label": "b"}\n')
    with pytest.raises(DataError, match=r"t.jsonl:2: not valid UTF-8 \(byte 0xe9"):
        read_labelled(p)


def test_csv_wrong_column_count(tmp_path):
    p = write(tmp_path / "t.csv", "text,label\na,b,c\n")
    with pytest.raises(DataError, match=r"t.csv:2: expected 2 columns"):
        read_labelled(p)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(DataError, match=r"nope.jsonl: file does not exist"):
        read_labelled(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match=r"unknown file type '.txt'"):
        read_labelled(write(tmp_path / "t.txt", "x"))


def test_label_outside_training_labels(tmp_path):
    space = LabelSpace(("neg", "pos"))
    p = write(tmp_path / "dev.jsonl", '{"text": "a", "label": "pos"}\n{"text": "b", "label": "neutral"}\n')
    with pytest.raises(DataError, match=r"dev.jsonl:2: label 'neutral' is not among the training labels"):
        read_labelled(p, space)


def test_read_texts_streams_records(tmp_path):
    p = write(tmp_path / "u.jsonl", "".join(json.dumps({"text": f"t {i}"}) + "\n" for i in range(1000)))
    assert read_texts(p)[-1] == "t 999"
    assert sum(1 for _ in iter_records(p)) == 1000


def test_soft_labels_round_trip(tmp_path):
    space = LabelSpace(("neg", "pos"))
    probs = np.array([[0.25, 0.75], [0.9, 0.1]], dtype=np.float32)
    p = tmp_path / "soft.jsonl"
    # the rows kdtext label writes (LabelResult.rows), read back
    write_jsonl(p, ({"text": t, "probs": dict(zip(space.labels, map(float, row)))} for t, row in zip(["a", "b"], probs)))
    ds = read_soft_labels(p, space)
    assert ds.soft and ds.texts == ["a", "b"]
    np.testing.assert_allclose(ds.targets, probs)


@pytest.mark.parametrize(
    "probs, message",
    [
        ({"neg": 0.5, "pos": 0.6}, r"soft.jsonl:1: probabilities sum to 1.1000, not 1"),
        ({"neg": -0.1, "pos": 1.1}, r"soft.jsonl:1: probability of 'neg' is -0.1, outside \[0, 1\]"),
        ({"neg": 0.5, "pos": 0.5, "meh": 0.0}, r"soft.jsonl:1: unknown label 'meh'"),
        ({"neg": 1.0}, r"soft.jsonl:1: 'probs' lacks label\(s\) 'pos'"),
        ({"neg": "x", "pos": 1.0}, r"soft.jsonl:1: probability of 'neg' must be a finite number"),
    ],
)
def test_bad_soft_labels(tmp_path, probs, message):
    p = write(tmp_path / "soft.jsonl", json.dumps({"text": "a", "probs": probs}) + "\n")
    with pytest.raises(DataError, match=message):
        read_soft_labels(p, LabelSpace(("neg", "pos")))


def test_nan_probability_is_rejected(tmp_path):
    p = write(tmp_path / "soft.jsonl", '{"text": "a", "probs": {"neg": NaN, "pos": 1.0}}\n')
    with pytest.raises(DataError, match="finite number"):
        read_soft_labels(p, LabelSpace(("neg", "pos")))


def test_multilabel_soft_labels_need_not_sum_to_one(tmp_path):
    space = LabelSpace(("a", "b"), multilabel=True)
    p = write(tmp_path / "soft.jsonl", json.dumps({"text": "a", "probs": {"a": 0.9, "b": 0.8}}) + "\n")
    np.testing.assert_allclose(read_soft_labels(p, space).targets, [[0.9, 0.8]])


def test_dataset_subset_keeps_alignment():
    ds = Dataset.from_labels(["a", "b", "c"], ["x", "y", "x"])
    sub = ds.subset([2, 0])
    assert sub.texts == ["c", "a"]
    assert sub.gold_labels() == ["x", "x"]
