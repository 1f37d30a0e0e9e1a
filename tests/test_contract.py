"""The plugin contract (issue 17): one `defaults` convention, declared capabilities, the student contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import kdtext
from kdtext import plugins
from kdtext.base import FitResult, resolve_params
from kdtext.cli import cli
from kdtext.errors import ConfigError, PluginError, StudentOutputError
from kdtext.pipeline import load_config

from contract_fixtures import import_example, run_args, write_task


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_task(tmp_path_factory.mktemp("task"))


# -- one defaults convention ------------------------------------------------------------------


def test_every_builtin_declares_defaults_as_a_dict_and_refuses_unknown_parameters():
    plugins.load_plugins()
    for hook in ("register_teachers", "register_augmenters", "register_students"):
        for name, registration in plugins.registrations(hook).items():
            cls = registration.factory
            assert isinstance(cls.defaults, dict), (hook, name)
            with pytest.raises(ConfigError, match=rf"{cls.kind} '{name}' has no parameter\(s\) nope; its parameters: "):
                resolve_params(cls, {"nope": 1})


def test_spacy_student_defaults_are_a_class_attribute_with_its_own_checks():
    from kdtext.default_plugins.spacy.student import COMMON_DEFAULTS, SpacyBOWStudent

    assert SpacyBOWStudent.defaults == {**COMMON_DEFAULTS, "ngram_size": 1, "bow_length": 262144}
    assert SpacyBOWStudent(ngram_size=2).params["ngram_size"] == 2
    with pytest.raises(ConfigError, match="'ngram_size' must be an integer"):
        SpacyBOWStudent(ngram_size="two")
    with pytest.raises(ConfigError, match="student 'spacy-bow' has no parameter\\(s\\) width"):
        SpacyBOWStudent(width=3)


def test_defaults_as_a_method_is_one_plugin_error():
    class OldStyle(kdtext.Augmenter):
        name = "old-style"

        @classmethod
        def defaults(cls):
            return {}

        def augment(self, corpus, n, *, seed=0):
            return None

    with pytest.raises(PluginError, match="augmenter 'old-style': `defaults` must be a class attribute dict"):
        OldStyle()


# -- declared capabilities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "augmenters, params, tagged",
    [(["mask"], {}, False), (["ngram"], {}, False), (["mask", "ngram"], {}, False),
     (["pos"], {}, True), (["tang"], {}, True), (["tang"], {"p_pos": 0.0}, False)],
)
def test_only_augmenters_that_read_tags_make_the_run_tag_the_corpus(augmenters, params, tagged):
    """The recipe asks the configured augmenters, not their classes (where needs_tags is a property)."""
    from kdtext.pipeline.stages.augment import _corpus_settings, _needs_tags

    config = load_config(None, {"data": "demo", "augmenters": augmenters, "augment_params": params})
    assert _needs_tags(config) is tagged
    assert _corpus_settings(config)["tags"] is tagged


def test_base_classes_declare_the_optional_capabilities_with_defaults():
    assert kdtext.Augmenter.requires_tags is False and kdtext.Augmenter.shardable is False
    assert kdtext.Teacher.trainable is True and kdtext.Teacher.run_unsupported == ""
    assert kdtext.Teacher.label is None
    assert kdtext.Student.is_spacy_pipeline is False
    from kdtext.default_plugins.augmenters import MaskAugmenter

    assert MaskAugmenter.shardable and MaskAugmenter().needs_tags is False


def test_reverse_example_works_without_n(register_plugin, tmp_path):
    """`kdtext augment` without --n gives an augmenter without rounds a whole number (one per source text)."""
    reverse = import_example("kdtext-reverse", "kdtext_reverse")
    register_plugin(reverse, "reverse-example")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": f"one two three {i}"}) + "\n" for i in range(5)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["augment", str(source), "-o", str(tmp_path / "out.jsonl"), "--augmenter", "reverse"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["text"] for row in rows][:1] == ["0 three two one"] and len(rows) == 5


# -- the teacher contract ----------------------------------------------------------------------


class SeedlessTeacher(kdtext.Teacher):
    """Takes neither a model nor a seed."""

    name = "seedless"
    defaults = {"alpha": 1}

    def fit(self, train, dev=None):
        return {}

    def predict_proba(self, texts):
        return np.zeros((len(texts), 2), np.float32)

    def save(self, path):
        pass

    @classmethod
    def load(cls, path):
        return cls()


def test_from_config_passes_model_and_seed_only_to_teachers_that_declare_them():
    assert SeedlessTeacher.from_config(seed=3, alpha=2).params == {"alpha": 2}
    with pytest.raises(ConfigError, match="teacher 'seedless' takes no model; leave out --teacher-model"):
        SeedlessTeacher.from_config(model="some/model")
    from kdtext.default_plugins.bert.teacher import BertTeacher

    teacher = BertTeacher.from_config(model="m", seed=4, epochs=1)
    assert teacher.params["model"] == "m" and teacher.params["seed"] == 4 and teacher.params["epochs"] == 1


def test_the_teacher_contract_gives_its_optional_methods_defaults():
    """What the recipe asks of any teacher (input ids, word vectors, device) has a default a plugin can keep."""
    plain = SeedlessTeacher()
    assert plain.input_ids(object()) is None and plain.vocabulary() == [] and plain.word_vectors(["good"]) is None
    assert plain.device() == "cpu"  # no `device` parameter: a Ray worker gets no GPU

    class DeviceTeacher(SeedlessTeacher):
        defaults = {"device": "auto"}

    assert DeviceTeacher().device() == "auto" and DeviceTeacher(device="cuda:1").device() == "cuda:1"
    from kdtext.default_plugins.bert.teacher import BertTeacher

    assert BertTeacher(device="cpu").device() == "cpu" and BertTeacher().device() == "auto"


def test_file_teacher_is_refused_by_run_before_any_work(files, tmp_path):
    soft = tmp_path / "soft.jsonl"
    soft.write_text('{"text": "good", "probs": {"neg": 0.1, "pos": 0.9}}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, run_args(files, tmp_path / "run", "--teacher", "file", "--teacher-param", f"path={soft}"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: teacher 'file' cannot be used in `kdtext run`: a soft-label file cannot label")
    assert result.output.count("\n") == 1 and not (tmp_path / "run").exists()


# -- the student contract ----------------------------------------------------------------------


def test_fit_result_coerces_dicts_and_names_the_plugin():
    full = {"dev_metric": "accuracy", "best_dev_score": 0.5, "best_step": 3, "steps": 4, "train_seconds": 1, "epochs": 2}
    result = FitResult.coerce(full, student="student 'x'")
    assert result.extra == {"epochs": 2} and result.train_seconds == 1.0 and result.curve == []
    assert result.as_dict() == {**full, "train_seconds": 1.0, "curve": []} and result["steps"] == 4
    with pytest.raises(StudentOutputError, match=r"^student 'x': fit\(\) returned NoneType, not a kdtext.FitResult"):
        FitResult.coerce(None, student="student 'x'")
    with pytest.raises(StudentOutputError, match=r"^student 'x': fit\(\) returned a dict without dev_metric, best_step"):
        FitResult.coerce({"best_dev_score": 1, "steps": 1, "train_seconds": 0}, student="student 'x'")
    with pytest.raises(StudentOutputError, match=r"returned best_step=-1; it must be a whole number"):
        FitResult.coerce({**full, "best_step": -1}, student="student 'x'")


class RecordingStudent(kdtext.Student):
    """Predicts the class prior; records what kdtext passed it. Declares lang, not vectors."""

    name = "recording"
    defaults = {"lang": "xx", "output": "prior", "result": "fit-result"}
    seen: list[dict] = []

    def fit(self, train, dev, transfer=None, *, seed=0):
        type(self).seen.append(dict(self.params))
        self.prior = train.targets.mean(axis=0)
        if self.params["result"] == "dict-without-metric":
            return {"steps": 1}
        return FitResult(dev_metric="accuracy", best_dev_score=0.5, best_step=1, steps=1, train_seconds=0.0,
                         curve=[{"step": 1, "dev_score": 0.5}], extra={"transfer": 0 if transfer is None else len(transfer)})

    def predict_proba(self, texts):
        out = np.tile(self.prior.astype(np.float32), (len(texts), 1))
        if self.params["output"] == "nan":
            out[1] = np.nan
        elif self.params["output"] == "unnormalised":
            out *= 2
        elif self.params["output"] == "shape":
            out = out[:, :1]
        return out

    def save(self, path):
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "prior.npy", self.prior)

    @classmethod
    def load(cls, path):
        from kdtext.students import read_student_meta

        student = cls(**read_student_meta(path)["params"])
        student.prior = np.load(path / "prior.npy")
        return student  # label_space left to kdtext


class StudentPlugin:
    @kdtext.hookimpl
    def register_students(self, register):
        register("recording", RecordingStudent)


@pytest.fixture
def recording(register_plugin):
    register_plugin(StudentPlugin(), "recording-plugin", distribution=("kdtext-recording", "2.3.4"))
    RecordingStudent.seen = []
    return RecordingStudent


def _train(files, out, *params):
    args = ["train-student", "--train", str(files["train"]), "--dev", str(files["dev"]), "--student", "recording", "-o", str(out)]
    for param in params:
        args += ["--param", param]
    return CliRunner().invoke(cli, args)


def test_train_student_evaluate_with_a_plugin_student_and_metadata_written_by_kdtext(recording, files, tmp_path):
    from kdtext.students import load_student

    out = tmp_path / "student"
    result = _train(files, out)
    assert result.exit_code == 0, result.output
    assert "recording: best dev accuracy 0.5000 at step 1 of 1" in result.output
    meta = json.loads((out / "kdtext_student.json").read_text())
    assert meta["student"] == "recording" and meta["label_space"]["labels"] == ["neg", "pos"]
    assert meta["plugin"] == {"distribution": "kdtext-recording", "version": "2.3.4"}
    assert meta["params"] == {"lang": "xx", "output": "prior", "result": "fit-result"} and meta["figures"]["best_step"] == 1
    assert meta["kdtext_version"] == kdtext.__version__
    loaded = load_student(out)
    assert isinstance(loaded, RecordingStudent) and loaded.label_space.labels == ("neg", "pos")
    result = CliRunner().invoke(cli, ["evaluate", str(out), str(files["test"]), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accuracy"] == 0.5


@pytest.mark.parametrize(
    "param, message",
    [
        ("result=dict-without-metric", "student 'recording': fit() returned a dict without dev_metric"),
        ("output=nan", "student 'recording' returned NaN or infinite probabilities for 1 of 8 examples (first: "),
        ("output=unnormalised", "student 'recording' returned single-label probabilities that do not sum to 1 for 8 of 8"),
        ("output=shape", "student 'recording' returned probabilities of shape (8, 1), expected (8, 2)"),
    ],
)
def test_a_broken_student_fails_right_after_training_with_one_line(recording, files, tmp_path, param, message):
    out = tmp_path / "student"
    result = _train(files, out, param)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}"), result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()


def test_run_with_a_plugin_teacher_and_student_passes_lang_only_when_declared(recording, register_plugin, files, tmp_path):
    lexicon = import_example("kdtext-lexicon", "kdtext_lexicon")
    register_plugin(lexicon, "lexicon-example")
    result = CliRunner().invoke(cli, run_args(files, tmp_path / "run", "--teacher", "lexicon", "--student", "recording", "--lang", "en"))
    assert result.exit_code == 0, result.output
    assert [seen["lang"] for seen in RecordingStudent.seen] == ["en", "en"]  # lang declared; vectors not
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["teacher"]["figures"]["finetuned"] is True and report["results"]["teacher"]["accuracy"] > 0.9
    assert report["training"]["distilled"]["transfer"] > 0
    assert report["curves"]["baseline"] == [[1, 0.5]]


def test_run_stops_a_broken_student_before_the_distilled_one_trains(recording, register_plugin, files, tmp_path):
    lexicon = import_example("kdtext-lexicon", "kdtext_lexicon")
    register_plugin(lexicon, "lexicon-example")
    args = run_args(files, tmp_path / "run", "--teacher", "lexicon", "--student", "recording", "--student-param", "output=nan")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "student 'recording' returned NaN or infinite probabilities" in result.output
    assert len(RecordingStudent.seen) == 1
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "baseline" not in manifest["stages"] and "distilled" not in manifest["stages"]


def test_a_saved_plugin_teacher_is_loaded_and_its_labels_checked(register_plugin, files, tmp_path):
    """`is_saved` + `load` + the base `check_labels`: a saved teacher is reused, a mismatch is one line."""
    from kdtext.errors import ModelError
    from kdtext.labels import LabelSpace
    from kdtext.default_plugins.bert.teacher import BertTeacher

    assert kdtext.Teacher.is_saved(tmp_path) is False and BertTeacher.is_saved(tmp_path) is False
    lexicon = import_example("kdtext-lexicon", "kdtext_lexicon")
    register_plugin(lexicon, "lexicon-example")
    first = CliRunner().invoke(cli, run_args(files, tmp_path / "first", "--teacher", "lexicon", "--student", "spacy-bow",
                                             "--student-param", "max_epochs=1", "--student-param", "progress=false"))
    assert first.exit_code == 0, first.output
    saved = tmp_path / "first" / "teacher" / "model"
    assert lexicon.LexiconTeacher.is_saved(saved)
    teacher = lexicon.LexiconTeacher.load(saved)
    with pytest.raises(ModelError, match=r"teacher 'lexicon' predicts \['neg', 'pos'\] \(binary\), but x has \['a', 'b', 'c'\]"):
        teacher.check_labels(LabelSpace(("a", "b", "c")), where="x")
    again = CliRunner().invoke(cli, run_args(files, tmp_path / "second", "--teacher", "lexicon", "--teacher-model", str(saved),
                                             "--student", "spacy-bow", "--student-param", "max_epochs=1", "--student-param", "progress=false"))
    assert again.exit_code == 0, again.output
    assert f"loading the finetuned teacher in {saved}" in again.output
    report = json.loads((tmp_path / "second" / "report.json").read_text())
    assert report["teacher"]["figures"] == {"finetuned": False}


def test_sklearn_example_student_multilabel_round_trip(register_plugin, tmp_path):
    """The example student on a multi-label task with soft rows, saved and loaded through kdtext."""
    from kdtext.data import Dataset
    from kdtext.students import fit_student, load_student, save_student
    from teacher_fixtures import multilabel_data

    sklearn_student = import_example("kdtext-sklearn", "kdtext_sklearn")
    register_plugin(sklearn_student, "sklearn-example")
    train, dev = multilabel_data(60, seed=0), multilabel_data(20, seed=1)
    transfer = Dataset(["good bad film", "a film"], np.array([[0.9, 0.8], [0.1, 0.3]], np.float32), train.label_space, soft=True)
    student = sklearn_student.TfidfLogRegStudent(C=2.0)
    result = fit_student(student, train, dev, transfer, name="tfidf-logreg")
    assert result.dev_metric == "macro_f1" and result.extra["n_transfer"] == 2
    save_student(student, tmp_path / "model", name="tfidf-logreg", figures=result)
    loaded = load_student(tmp_path / "model")
    assert loaded.label_space == train.label_space and loaded.params["C"] == 2.0
    assert np.allclose(loaded.predict_proba(dev.texts), student.predict_proba(dev.texts))
