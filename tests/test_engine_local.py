"""The local engine labels through the teacher contract, with one LabelOptions object."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kdtext
from kdtext.labelling.engine import LabelOptions, get_engine
from kdtext.labels import LabelSpace


class PlainTeacher(kdtext.Teacher):
    """Only predict_proba: P(pos) from the text length."""

    label_space = LabelSpace(["neg", "pos"], False)

    def fit(self, train, dev=None):
        return {}

    def predict_proba(self, texts):
        pos = np.array([min(len(t), 10) / 10 for t in texts], np.float32)
        return np.stack([1 - pos, pos], 1)

    def save(self, path):
        pass

    @classmethod
    def load(cls, path):
        return cls()


class LabellingTeacher(PlainTeacher):
    """Has label(): records the options it was given."""

    def label(self, texts=None, ids=None, **options):
        from kdtext.labelling import label_with_teacher

        self.seen = options
        plain = PlainTeacher()
        return label_with_teacher(plain, texts)


def test_a_teacher_without_label_is_asked_predict_proba():
    texts = ["a", "a longer text", "mid text"]
    result, figures = get_engine("local").label(PlainTeacher(), texts, options=LabelOptions(cache_dir="ignored"))
    np.testing.assert_allclose(result.probs, PlainTeacher().predict_proba(texts))
    assert result.n_computed == 3 and result.n_cached == 0 and figures["engine"] == "local"


def test_label_gets_the_options_that_are_set_and_only_those():
    teacher = LabellingTeacher()
    get_engine("local").label(teacher, ["x"], options=LabelOptions(device="cpu", batch_tokens=64), quantize=None, backend="onnx")
    assert teacher.seen == {"device": "cpu", "batch_tokens": 64, "backend": "onnx", "progress": False}


def test_the_one_path_checks_what_any_teacher_returns_and_names_the_example():
    from kdtext.errors import ConfigError, TeacherOutputError
    from kdtext.labelling import label_with_teacher

    class Broken(PlainTeacher):
        name = "broken"

        def predict_proba(self, texts):
            probs = super().predict_proba(texts)
            probs[-1] = [0.7, 0.7]
            return probs

    with pytest.raises(TeacherOutputError, match="teacher 'broken' .*do not sum to 1.*text 2"):
        get_engine("local").label(Broken(), ["a", "b", "c"], where=lambda i: f"text {i}")
    with pytest.raises(ConfigError, match="teacher 'PlainTeacher' has no label\\(\\): it labels texts, not ids"):
        label_with_teacher(PlainTeacher(), ids=[[1, 2]])
    with pytest.raises(ConfigError, match="gives no logits"):
        label_with_teacher(PlainTeacher(), ["a"], logits=True)


class TeacherPlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("plain-local", PlainTeacher)


def test_kdtext_label_labels_through_the_engine_and_writes_the_result_rows(register_plugin, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from kdtext.cli import cli
    from kdtext.labelling.engine import LocalEngine

    register_plugin(TeacherPlugin(), "plain-local-plugin")
    calls = []
    real = LocalEngine.label
    monkeypatch.setattr(LocalEngine, "label", lambda self, *a, **k: calls.append(k) or real(self, *a, **k))
    texts = ["a", "a longer text", "mid text"]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["label", str(source), "-o", str(out), "--teacher", "plain-local", "--model", "m"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and calls[0]["teacher_name"] == "plain-local"
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    expected = PlainTeacher().predict_proba(texts)
    assert [row["text"] for row in rows] == texts
    np.testing.assert_allclose([[row["probs"]["neg"], row["probs"]["pos"]] for row in rows], expected, rtol=1e-6)
    refused = CliRunner().invoke(cli, ["label", str(source), "-o", str(out), "--teacher", "plain-local", "--model", "m", "--device", "cpu"])
    assert refused.exit_code == 1 and "teacher 'plain-local' does not take --device" in refused.output
    no_logits = CliRunner().invoke(cli, ["label", str(source), "-o", str(out), "--teacher", "plain-local", "--model", "m", "--logits"])
    assert no_logits.exit_code == 1 and "gives no logits" in no_logits.output


class ChattyTeacher(PlainTeacher):
    """Prints to stdout while it labels, as Ray's worker and raylet lines reach a driver's stdout."""

    def predict_proba(self, texts):
        print("a line from a worker")
        return super().predict_proba(texts)


class ChattyPlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("chatty", ChattyTeacher)


def test_label_json_keeps_stdout_for_the_json(register_plugin, tmp_path):
    from click.testing import CliRunner

    from kdtext.cli import cli

    register_plugin(ChattyPlugin(), "chatty-plugin")
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "a"}\n{"text": "a longer text"}\n', encoding="utf-8")
    args = ["label", str(source), "-o", str(tmp_path / "out.jsonl"), "--teacher", "chatty", "--model", "m", "--no-progress"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["examples"] == 2  # the whole of stdout is the JSON
    assert "a line from a worker" in result.stderr
    plain = CliRunner().invoke(cli, args)
    assert "a line from a worker" in plain.stdout  # without --json, stdout is left alone
