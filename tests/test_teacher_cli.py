"""``kdtext train-teacher`` and ``kdtext label`` through Click's test runner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.default_plugins.bert.teacher import BertTeacher

from teacher_fixtures import binary_data, teacher, tiny_bert_dir, trained_dir, varied_texts  # noqa: F401


def write_rows(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_train_teacher_then_label(tiny_bert_dir, binary_data, tmp_path):
    train, dev = binary_data
    train_file = write_rows(tmp_path / "train.jsonl", [{"text": t, "label": l} for t, l in zip(train.texts, train.gold_labels())])
    dev_file = tmp_path / "dev.csv"
    dev_file.write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in zip(dev.texts, dev.gold_labels())))
    out = tmp_path / "teacher"
    result = invoke(
        "train-teacher", "--train", train_file, "--dev", dev_file, "--model", tiny_bert_dir, "-o", out,
        "--epochs", 4, "--lr", 3e-3, "--batch-size", 16, "--seed", 0, "--device", "cpu",
        "--param", "num_threads=1", "--param", "progress=false",
    )
    assert result.exit_code == 0, result.output
    assert "trained teacher 'bert' on 240 examples (binary: neg, pos); best epoch" in result.output
    assert BertTeacher.is_teacher_dir(out)

    texts = varied_texts(25, longest=10) + ["good movie " * 40]  # max_length is 16 here
    input_file = write_rows(tmp_path / "in.jsonl", [{"text": t, "id": i} for i, t in enumerate(texts)])
    output = tmp_path / "out.jsonl"
    args = ["label", input_file, "-o", output, "--model", out, "--logits", "--cache", tmp_path / "cache", "--no-progress"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert f"labelled {len(texts)} examples (1 truncated, 0 from cache)" in result.output
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["text"] for row in rows] == texts  # input order
    assert set(rows[0]) == {"text", "probs", "logits"} and set(rows[0]["probs"]) == {"neg", "pos"}
    teacher = BertTeacher.load(out, num_threads=1)
    expected = teacher.predict_proba(texts)
    np.testing.assert_allclose([[r["probs"]["neg"], r["probs"]["pos"]] for r in rows], expected, atol=1e-6)

    again = invoke(*args, "--json")
    summary = json.loads(again.output)
    assert summary["cache_hits"] == len(texts) and summary["computed"] == 0 and summary["truncated"] == 1


def test_label_int8_reports_agreement(trained_dir, tmp_path):
    input_file = write_rows(tmp_path / "in.jsonl", [{"text": t} for t in varied_texts(20)])
    result = invoke("label", input_file, "-o", tmp_path / "out.jsonl", "--model", trained_dir, "--quantize", "int8",
                    "--device", "cpu", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "int8 agrees with fp32 on" in result.output and "of 20 examples" in result.output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--device", "cuda:7"], 1, "device 'cuda:7' was requested"),
        # the option is kdtext run's --batch-tokens setting: Click checks its minimum before any work
        (["--batch-tokens", "0"], 2, "Invalid value for '--batch-tokens': 0 is not in the range x>=1"),
    ],
)
def test_label_errors_are_one_line(trained_dir, tmp_path, monkeypatch, args, code, message):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    input_file = write_rows(tmp_path / "in.jsonl", [{"text": "good movie"}])
    result = CliRunner().invoke(cli, ["label", input_file, "-o", str(tmp_path / "o.jsonl"), "--model", str(trained_dir), *args])
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_label_bad_inputs(trained_dir, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(cli, ["label", str(empty), "-o", str(tmp_path / "o.jsonl"), "--model", str(trained_dir)])
    assert result.exit_code == 1 and "empty.jsonl: no examples in the file" in result.output
    good = write_rows(tmp_path / "in.jsonl", [{"text": "good movie"}])
    result = CliRunner().invoke(cli, ["label", good, "-o", str(tmp_path / "o.jsonl"), "--model", str(tmp_path / "none")])
    assert result.exit_code == 1 and "model directory does not exist" in result.output
    result = CliRunner().invoke(cli, ["label", good, "-o", str(tmp_path / "o.jsonl"), "--model", str(trained_dir), "--teacher", "bret"])
    assert result.exit_code == 1 and "unknown teacher 'bret'; available: bert, command, file" in result.output


def test_label_with_the_file_teacher(tmp_path):
    soft = write_rows(tmp_path / "soft.jsonl", [{"text": "a", "probs": {"x": 0.3, "y": 0.7}}, {"text": "b", "probs": {"x": 1, "y": 0}}])
    input_file = write_rows(tmp_path / "in.jsonl", [{"text": "b"}, {"text": "a"}])
    result = invoke("label", input_file, "-o", tmp_path / "out.jsonl", "--teacher", "file", "--model", soft)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows == [{"text": "b", "probs": {"x": 1.0, "y": 0.0}}, {"text": "a", "probs": {"x": pytest.approx(0.3), "y": pytest.approx(0.7)}}]
    result = CliRunner().invoke(cli, ["label", input_file, "-o", str(tmp_path / "o2.jsonl"), "--teacher", "file", "--model", soft, "--device", "cpu"])
    assert result.exit_code == 1 and "teacher 'file' does not take --device" in result.output


def test_train_teacher_with_labels_missing_from_train(tiny_bert_dir, tmp_path):
    train_file = write_rows(tmp_path / "train.jsonl", [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}])
    dev_file = write_rows(tmp_path / "dev.jsonl", [{"text": "meh", "label": "neutral"}])
    result = CliRunner().invoke(cli, ["train-teacher", "--train", train_file, "--dev", dev_file, "--model", str(tiny_bert_dir), "-o", str(tmp_path / "t")])
    assert result.exit_code == 1 and "dev.jsonl:1: label 'neutral' is not among the training labels" in result.output
