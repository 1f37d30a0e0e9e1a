"""Provenance: third-party plugin versions are part of the stage fingerprints and of the report.

Upgrading a plugin reruns exactly the stages that run its code and what follows them;
the built-in plugins leave the fingerprints as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kdtext
from kdtext import plugins
from kdtext.pipeline import load_config
from kdtext.pipeline.recipe import STAGES, run_recipe

from contract_fixtures import PriorStudent

STAGE_NAMES = [stage.name for stage in STAGES]
LANG = "sv"  # spaCy tokenizes it and no built-in tagger tags it: the test's tagger is the one


class ProvTeacher(kdtext.Teacher):
    """Predicts 0.7 for the first label of every text."""

    trainable = False

    def fit(self, train, dev=None):
        self.label_space = train.label_space
        return {}

    def predict_proba(self, texts):
        k = len(self.label_space)
        probs = np.full((len(texts), k), 0.3 / (k - 1), np.float32)
        probs[:, 0] = 0.7
        return probs

    def save(self, path):
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "labels.json").write_text(json.dumps(self.label_space.to_json()))

    @classmethod
    def load(cls, path):
        from kdtext.labels import LabelSpace

        teacher = cls()
        teacher.label_space = LabelSpace.from_json(json.loads((Path(path) / "labels.json").read_text()))
        return teacher


class ProvAugmenter(kdtext.Augmenter):
    """Reverses each text; reads the POS tags (so the corpus is tagged)."""

    requires_tags = True

    def augment(self, corpus, n, *, seed=0):
        examples = [list(reversed(corpus.doc_word_ids(i))) for i in range(min(n, corpus.n_docs))]
        from kdtext.augment import SyntheticSet

        return SyntheticSet.from_word_ids(corpus, examples, sources=range(len(examples)), augmenter="prov-aug")


class ProvTagger(kdtext.Tagger):
    """Tags every word X."""

    @classmethod
    def languages(cls):
        return [LANG]

    def __init__(self, lang):
        self.lang = lang

    def tag(self, words):
        return ["X"] * len(words)


class TeacherPlugin:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("prov-teacher", ProvTeacher)


class AugmenterPlugin:
    @kdtext.hookimpl
    def register_augmenters(self, register):
        register("prov-aug", ProvAugmenter)


class StudentPlugin:
    @kdtext.hookimpl
    def register_students(self, register):
        register("prov-student", PriorStudent)


class TaggerPlugin:
    @kdtext.hookimpl
    def register_taggers(self, register):
        register("prov-tagger", ProvTagger)


#: plugin name -> its distribution, as if installed from an entry point
DISTRIBUTIONS = {
    "prov-teacher-plugin": "kdtext-prov-teacher",
    "prov-aug-plugin": "kdtext-prov-aug",
    "prov-student-plugin": "kdtext-prov-student",
    "prov-tagger-plugin": "kdtext-prov-tagger",
}


@pytest.fixture
def prov_plugins(register_plugin):
    from kdtext.augment import tagging

    for plugin, name in ((TeacherPlugin(), "prov-teacher-plugin"), (AugmenterPlugin(), "prov-aug-plugin"),
                         (StudentPlugin(), "prov-student-plugin"), (TaggerPlugin(), "prov-tagger-plugin")):  # fmt: skip
        register_plugin(plugin, name, distribution=(DISTRIBUTIONS[name], "1.0"))
    yield
    tagging._instances.pop(("prov-tagger", LANG), None)


def _upgrade(plugin_name: str, version: str) -> None:
    plugins._distributions[plugin_name] = (DISTRIBUTIONS[plugin_name], version)


def _config(tmp_path: Path):
    rows = {"train": 12, "dev": 6, "test": 6}
    for split, n in rows.items():
        with open(tmp_path / f"{split}.jsonl", "w") as handle:
            for i in range(n):
                handle.write(json.dumps({"text": f"det här är text {i} {split} bra" if i % 2 else f"text {i} {split} dålig", "label": "pos" if i % 2 else "neg"}) + "\n")
    return load_config(None, {
        "train": str(tmp_path / "train.jsonl"), "dev": str(tmp_path / "dev.jsonl"), "test": str(tmp_path / "test.jsonl"),
        "teacher": "prov-teacher", "augmenters": ["prov-aug"], "student": "prov-student", "lang": LANG,
        "n_synthetic": 10, "teacher_vectors": 0,
    })  # fmt: skip


def _rerun(config, run_dir: Path) -> list[str]:
    report = run_recipe(config, run_dir, quiet=True)
    return [name for name in STAGE_NAMES if name not in report["resumed"]]


def test_upgrading_a_plugin_reruns_exactly_the_stages_it_affects(prov_plugins, tmp_path):
    config, run_dir = _config(tmp_path), tmp_path / "run"
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == []
    assert json.loads((run_dir / "corpus" / "corpus" / "meta.json").read_text())["tag_names"] == ["X"]  # the test's tagger
    for dist in DISTRIBUTIONS.values():
        assert report["versions"][dist] == "1.0"
    assert _rerun(config, run_dir) == []  # nothing changed: nothing reruns

    _upgrade("prov-teacher-plugin", "1.1")
    assert _rerun(config, run_dir) == ["teacher", "label", "vectors", "distilled", "evaluate", "report"]
    _upgrade("prov-aug-plugin", "2.0")
    assert _rerun(config, run_dir) == ["augment", "label", "distilled", "evaluate", "report"]
    _upgrade("prov-student-plugin", "1.0.1")
    assert _rerun(config, run_dir) == ["baseline", "distilled", "evaluate", "report"]
    _upgrade("prov-tagger-plugin", "3.0")
    assert _rerun(config, run_dir) == ["corpus", "augment", "label", "vectors", "distilled", "evaluate", "report"]

    report = json.loads((run_dir / "report.json").read_text())
    assert {dist: report["versions"][dist] for dist in DISTRIBUTIONS.values()} == {
        "kdtext-prov-teacher": "1.1", "kdtext-prov-aug": "2.0", "kdtext-prov-student": "1.0.1", "kdtext-prov-tagger": "3.0",
    }  # fmt: skip
    manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert manifest["label"]["plugins"] == {"kdtext-prov-teacher": "1.1"}
    assert manifest["corpus"]["plugins"] == {"kdtext-prov-tagger": "3.0"}
    assert "plugins" not in manifest["data"]


def test_built_in_plugins_leave_the_fingerprints_as_they_were():
    """Only third-party plugins join a fingerprint: runs of the built-ins resume across this change."""
    from kdtext.pipeline.runner import plugin_versions

    config = load_config(None, {"data": "demo", "augmenters": ["tang", "mask"], "teacher": "bert", "student": "spacy-cnn"})
    for stage in STAGES:
        assert plugin_versions(stage.plugins(config)) == {}, stage.name
