"""The black-box `command` teacher: a program that reads JSONL texts and writes probabilities."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.data import read_labelled
from kdtext.errors import ConfigError, TeacherOutputError
from kdtext.default_plugins.command import CommandTeacher

from contract_fixtures import run_args, write_task
from teacher_fixtures import POSITIVE, sentiment_data

LABELLER = textwrap.dedent(
    """
    import json, sys

    POSITIVE = {positive!r}
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    with open("calls.log", "a") as log:
        log.write("call\\n")
    if mode == "crash":
        print("boom: the model server is down", file=sys.stderr)
        sys.exit(3)
    lines = [json.loads(line) for line in sys.stdin if line.strip()]
    if mode == "short":
        lines = lines[:1]
    for i, row in enumerate(lines):
        p = 0.8 if any(word in POSITIVE for word in row["text"].split()) else 0.3
        probs = {{"neg": 1 - p, "pos": p}}
        if mode == "garbage" and i == 1:
            print("Loading model... done")
            continue
        if mode == "missing":
            del probs["pos"]
        if mode == "nan":
            probs["pos"] = float("nan")
        print(json.dumps(probs if mode == "bare" else {{"probs": probs}}))
    """
).format(positive=POSITIVE[:3])  # a deliberately imperfect rule: some positive texts are called negative


def own_accuracy(dataset) -> float:
    """The labeller's accuracy, computed here with its own rule."""
    predicted = ["pos" if any(word in POSITIVE[:3] for word in text.split()) else "neg" for text in dataset.texts]
    return float(np.mean([p == gold for p, gold in zip(predicted, dataset.gold_labels())]))


@pytest.fixture
def labeller(tmp_path, monkeypatch):
    """The labeller script in a fresh folder that is also the current directory; returns cmd for a mode."""
    (tmp_path / "labeller.py").write_text(LABELLER, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return lambda mode="ok": f"{shlex.quote(sys.executable)} labeller.py {mode}"


def calls(tmp_path) -> int:
    log = tmp_path / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_run_with_the_command_teacher_reports_the_programs_own_accuracy(labeller, tmp_path):
    files = write_task(tmp_path / "task", n_train=40, n_dev=20, n_test=30)
    args = run_args(files, tmp_path / "run", "--teacher", "command", "--teacher-param", f"cmd={labeller()}",
                    "--student", "spacy-bow", "--student-param", "max_epochs=2", "--student-param", "progress=false")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    expected = own_accuracy(read_labelled(files["test"]))
    assert 0.5 < expected < 1.0
    assert report["results"]["teacher"]["accuracy"] == pytest.approx(expected)
    assert report["teacher"]["figures"]["finetuned"] is False and report["teacher"]["figures"]["probed"] == 8
    assert report["labelling"]["n_synthetic"] > 0
    saved = CommandTeacher.load(tmp_path / "run" / "teacher" / "model")
    assert saved.params["cwd"] == str(tmp_path) and saved.label_space.labels == ("neg", "pos")

    # `kdtext label` with the saved teacher; the run's probabilities came from the same program
    result = CliRunner().invoke(cli, ["label", str(files["dev"]), "-o", str(tmp_path / "soft.jsonl"),
                                      "--teacher", "command", "--model", str(tmp_path / "run" / "teacher" / "model")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "soft.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and set(rows[0]["probs"]) == {"neg", "pos"}
    assert {round(row["probs"]["pos"], 4) for row in rows} <= {0.8, 0.3}


def test_batches_and_the_cache_keyed_on_the_command_and_text(labeller, tmp_path):
    data = sentiment_data(10, seed=3)
    teacher = CommandTeacher(cmd=labeller(), batch_size=4)
    teacher.fit(data)
    assert calls(tmp_path) == 1  # the probe
    first = teacher.label(data.texts, cache_dir=tmp_path / "cache")
    assert calls(tmp_path) == 1 + 3 and first.n_cached == 0 and first.n_computed == 10
    again = teacher.label(data.texts[::-1] + ["the film was fun"], cache_dir=tmp_path / "cache")
    assert calls(tmp_path) == 1 + 3 + 1 and again.n_cached == 10 and again.n_computed == 1
    assert np.array_equal(again.probs[:10], first.probs[::-1])
    other = CommandTeacher(cmd=labeller("bare").replace("bare", "ok "), batch_size=4)  # another command string
    other.label_space = teacher.label_space
    assert other.label(data.texts, cache_dir=tmp_path / "cache").n_cached == 0


@pytest.mark.parametrize(
    "mode, message",
    [
        ("crash", r"exited with code 3 on examples 0-2: boom: the model server is down"),
        ("short", r"wrote 1 output line\(s\) for 3 input lines \(examples 0-2\); it must write one"),
        ("missing", r": the probs for example 0 \(.*\) lacks label\(s\) pos; the labels are neg, pos"),
        ("bare", r"output line 1 for example 0 \(.*\) has no \"probs\" object"),
        ("nan", r"returned NaN or infinite probabilities for 3 of 3 examples \(first: example 0"),
    ],
)
def test_a_misbehaving_program_is_one_error_naming_the_teacher_and_the_example(labeller, mode, message):
    teacher = CommandTeacher(cmd=labeller(mode))
    teacher.label_space = sentiment_data(2).label_space
    with pytest.raises(TeacherOutputError, match=rf"^teacher 'command' \(`.*labeller.py {mode}`\).*{message}"):
        teacher.predict_proba(["good film", "bad film", "the plot"])


def test_garbage_line_is_named(labeller):
    teacher = CommandTeacher(cmd=labeller("garbage"))
    teacher.label_space = sentiment_data(2).label_space
    with pytest.raises(TeacherOutputError, match=r"output line 2 for example 1 \('bad film'\) is not JSON"):
        teacher.predict_proba(["good film", "bad film", "the plot"])


def test_a_crashing_program_stops_run_at_the_teacher_with_one_line(labeller, tmp_path):
    files = write_task(tmp_path / "task")
    result = CliRunner().invoke(cli, run_args(files, tmp_path / "run", "--teacher", "command", "--teacher-param", f"cmd={labeller('crash')}"))
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: teacher 'command' (`") and last.endswith("exited with code 3 on examples 0-7: boom: the model server is down")
    assert "Traceback" not in result.output
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"].keys() == {"data"}


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="needs cmd="):
        CommandTeacher()
    with pytest.raises(ConfigError, match="batch_size must be a positive number"):
        CommandTeacher(cmd="x", batch_size=0)
    teacher = CommandTeacher(cmd="a-program-that-does-not-exist-here")
    teacher.label_space = sentiment_data(2).label_space
    with pytest.raises(ConfigError, match="no such program 'a-program-that-does-not-exist-here'"):
        teacher.predict_proba(["x"])
