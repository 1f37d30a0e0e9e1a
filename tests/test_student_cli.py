"""`kdtext train-student`, `kdtext evaluate` and `kdtext package` through Click's test runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdtext.cli import cli


FAST = ["--param", "progress=false", "--param", "max_epochs=6", "--param", "batch_size=8", "--param", "learn_rate=0.01"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    rows = []
    for i in range(10):
        rows.append({"text": f"a great film number {i}", "label": "pos"})
        rows.append({"text": f"an awful film number {i}", "label": "neg"})
    return {
        "train": write_jsonl(tmp_path / "train.jsonl", rows),
        "dev": write_jsonl(tmp_path / "dev.jsonl", rows[:6]),
        "soft": write_jsonl(
            tmp_path / "soft.jsonl",
            [{"text": "great great", "probs": {"pos": 0.9, "neg": 0.1}}, {"text": "meh", "probs": {"pos": 0.4, "neg": 0.6}}],
        ),
        "dir": tmp_path,
    }


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_train_evaluate_and_package(files):
    out = files["dir"] / "student"
    result = invoke("train-student", "--train", files["train"], "--dev", files["dev"], "--soft", files["soft"],
                    "--student", "spacy-bow", "-o", out, "--seed", "3", *FAST)
    assert result.exit_code == 0, result.output
    assert "best dev accuracy 1.0000" in result.output
    assert (out / "kdtext_student.json").exists() and (out / "config.cfg").exists()
    figures = json.loads((out / "kdtext_student.json").read_text())["figures"]
    assert figures["n_transfer"] == 2 and figures["seed"] == 3

    result = invoke("evaluate", out, files["dev"], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert set(report["per_class"]) == {"pos", "neg"} and report["docs_per_second"] > 0 and report["size_bytes"] > 0
    result = invoke("evaluate", out, files["dev"])
    assert result.exit_code == 0 and "accuracy     1.0000" in result.output and "docs/s" in result.output

    dist = files["dir"] / "dist"
    result = invoke("package", out, "-o", dist, "--name", "kd_test_student", "--version", "0.0.1")
    assert result.exit_code == 0, result.output
    wheels = list(dist.glob("*/dist/*.whl"))
    assert len(wheels) == 1 and list(dist.glob("*/dist/*.tar.gz"))
    target = files["dir"] / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheels[0])],
                   check=True, capture_output=True)
    code = f"import sys; sys.path.insert(0, {str(target)!r}); import spacy; print(spacy.load('en_kd_test_student')('great film').cats)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "'pos'" in loaded.stdout

    result = invoke("package", out, "-o", dist, "--name", "kd_test_student", "--version", "0.0.1", "--build", "none")
    assert result.exit_code == 1 and "already exists" in result.output


def test_baseline_with_cnn_student_and_params(files):
    out = files["dir"] / "cnn"
    result = invoke("train-student", "--train", files["train"], "--dev", files["dev"], "--student", "spacy-cnn", "-o", out,
                    "--param", "width=16", "--param", "embed_size=100", "--json", *FAST)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output[result.output.index("{"):])
    assert figures["n_transfer"] == 0 and figures["steps"] > 0
    params = json.loads((out / "kdtext_student.json").read_text())["params"]
    assert params["width"] == 16 and params["embed_size"] == 100


@pytest.mark.parametrize(
    "soft_row,message",
    [
        ({"text": "x", "probs": {"pos": 0.7, "neg": 0.7}}, "soft.jsonl:2: probabilities sum to 1.4000, not 1"),
        ({"text": "x", "probs": {"pos": 1.5, "neg": -0.5}}, "soft.jsonl:2: probability of 'pos' is 1.5, outside [0, 1]"),
        ({"text": "x", "probs": {"pos": 0.5, "neg": 0.3, "meh": 0.2}}, "soft.jsonl:2: unknown label 'meh'"),
    ],
)
def test_bad_soft_labels_are_one_line_errors(files, soft_row, message):
    soft = write_jsonl(files["dir"] / "soft.jsonl", [{"text": "ok", "probs": {"pos": 1.0, "neg": 0.0}}, soft_row])
    result = invoke("train-student", "--train", files["train"], "--dev", files["dev"], "--soft", soft,
                    "--student", "spacy-bow", "-o", files["dir"] / "m", *FAST)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (files["dir"] / "m").exists()


def test_empty_dev_set_and_unknown_student_and_bad_param(files):
    empty = files["dir"] / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    result = invoke("train-student", "--train", files["train"], "--dev", empty, "-o", files["dir"] / "m", *FAST)
    assert result.exit_code == 1 and "empty.jsonl: no examples in the file" in result.output
    result = invoke("train-student", "--train", files["train"], "--dev", files["dev"], "--student", "spacy-rnn", "-o", files["dir"] / "m")
    assert result.exit_code == 1 and "unknown student 'spacy-rnn'; available:" in result.output
    result = invoke("train-student", "--train", files["train"], "--dev", files["dev"], "-o", files["dir"] / "m", "--param", "depht=2")
    assert result.exit_code == 1 and "no parameter(s) depht" in result.output


def test_evaluate_errors(files):
    result = invoke("evaluate", files["dir"] / "nope", files["dev"])
    assert result.exit_code == 1 and "no such model directory" in result.output
