"""The local engine labels through the teacher contract, with one LabelOptions object."""

from __future__ import annotations

import numpy as np

import kdtext
from kdtext.labelling.engine import EngineTeacher, LabelOptions, get_engine
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


def test_engine_teacher_turns_label_keywords_into_one_options_object():
    class Recorder:
        name = "local"

        def label(self, teacher, texts, ids, *, options, model_path, teacher_name, progress):
            from kdtext.labelling import label_with_teacher

            self.options = options
            return label_with_teacher(teacher, texts), {"engine": "recorder"}

    engine = Recorder()
    wrapped = EngineTeacher(PlainTeacher(), engine, model_path="m", teacher_name="plain")
    wrapped.label(["x"], cache_dir="c", device="cpu", progress="bar")
    assert engine.options == LabelOptions(cache_dir="c", device="cpu") and wrapped.figures == [{"engine": "recorder"}]
