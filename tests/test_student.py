"""The spaCy students spacy-cnn and spacy-bow, and the soft text categorizer, on tiny synthetic tasks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kdtext.data import Dataset
from kdtext.errors import ConfigError, DataError, ModelError, UnknownPluginError
from kdtext.labels import LabelSpace
from kdtext.students import build_student, evaluate_student, load_student, save_student


FILLER = "the a film movie it was this one really quite".split()
# small and fast; every test overrides what it needs
BOW = {"progress": False, "max_epochs": 20, "batch_size": 8, "learn_rate": 0.01}
CNN = {**BOW, "width": 16, "depth": 1, "embed_size": 100, "bow_length": 4096}
FAST = {**BOW, "width": 16, "embed_size": 1000, "eval_every": 0, "patience": 10}  # the schedule of the others


def sentences(cue: str, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join([*rng.choice(FILLER, 3), cue, *rng.choice(FILLER, 2)]) for _ in range(n)]


def gold_task(cues: dict[str, str], n: int = 12, seed: int = 0) -> Dataset:
    texts, labels = [], []
    for i, (label, cue) in enumerate(cues.items()):
        texts += sentences(cue, n, seed + i)
        labels += [label] * n
    return Dataset.from_labels(texts, labels, LabelSpace(tuple(cues)))


BINARY = {"pos": "great", "neg": "awful"}
THREE = {"pos": "great", "neg": "awful", "mid": "okay"}


def test_students_are_registered_and_reject_bad_params():
    assert type(build_student("spacy-cnn")).__name__ == "SpacyCNNStudent"
    assert build_student("spacy-bow", ngram_size=2).params["ngram_size"] == 2
    with pytest.raises(UnknownPluginError, match="available: .*spacy-bow.*spacy-cnn"):
        build_student("spacy-cnnn")
    with pytest.raises(ConfigError, match="no parameter.*widht"):
        build_student("spacy-cnn", widht=3)
    with pytest.raises(ConfigError, match="'width' must be an integer"):
        build_student("spacy-cnn", width="wide")
    with pytest.raises(ConfigError, match="'loss' must be"):
        build_student("spacy-bow", loss="hinge")
    with pytest.raises(ConfigError, match="dropout"):
        build_student("spacy-bow", dropout=1.5)
    assert build_student("spacy-fast", attrs=" norm , shape").params["attrs"] == "NORM,SHAPE"
    with pytest.raises(ConfigError, match="'attrs' must be comma-separated token attributes"):
        build_student("spacy-fast", attrs="NORM,COLOUR")
    with pytest.raises(ConfigError, match="'pooling' must be one of reduce, attention, ensemble"):
        build_student("spacy-fast", pooling="sum")
    with pytest.raises(ConfigError, match="'depth' must be at least 1"):
        build_student("spacy-fast", depth=0)
    with pytest.raises(ConfigError, match="'loss' must be 'mse', 'kl' or 'logits'"):
        build_student("spacy-fast", loss="hinge")


@pytest.mark.parametrize(
    "name,params",
    [("spacy-bow", BOW), ("spacy-cnn", CNN), ("spacy-fast", FAST), ("spacy-fast", {**FAST, "pooling": "reduce", "attrs": "NORM"})],
)
def test_multiclass_task_is_learned(name, params):
    train, dev = gold_task(THREE), gold_task(THREE, n=6, seed=10)
    student = build_student(name, **params)
    figures = student.fit(train, dev, seed=0)
    assert figures["best_dev_score"] == 1.0
    assert figures["curve"] and figures["steps"] > 0 and figures["n_transfer"] == 0
    probs = student.predict_proba(["this was great", "an awful one", "quite okay it was"])
    assert probs.dtype == np.float32 and probs.shape == (3, 3)
    assert probs.argmax(axis=1).tolist() == [0, 1, 2]  # label_space order: pos, neg, mid
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(student.predict_proba([""]), 1 / 3)  # no tokens: no evidence
    result = evaluate_student(student, dev)
    assert result["accuracy"] == 1.0 and result["size_bytes"] > 0 and result["docs_per_second"] > 0


SOFT_TARGETS = {"zeta": 0.75, "omega": 0.2}  # P(pos) the teacher gives texts with each word


def soft_task() -> tuple[Dataset, Dataset, Dataset]:
    train, dev = gold_task(BINARY), gold_task(BINARY, n=4, seed=20)
    texts, rows = [], []
    for i, (cue, p) in enumerate(SOFT_TARGETS.items()):
        for text in sentences(cue, 40, seed=30 + i):
            texts.append(text)
            rows.append([p, 1 - p])
    transfer = Dataset(texts, np.array(rows, np.float32), train.label_space, soft=True)
    return train, dev, transfer


@pytest.mark.parametrize(
    "name,params",
    [
        ("spacy-bow", BOW),
        ("spacy-bow", {**BOW, "loss": "kl", "temperature": 2.0}),
        ("spacy-cnn", CNN),
        ("spacy-cnn", {**CNN, "loss": "kl", "temperature": 2.0}),
        ("spacy-fast", FAST),
        ("spacy-fast", {**FAST, "loss": "logits"}),
        ("spacy-fast", {**FAST, "pooling": "ensemble"}),
    ],
)
def test_soft_labels_pull_predictions_toward_the_soft_targets(name, params):
    train, dev, transfer = soft_task()
    probes = ["it was zeta the film", "it was omega the film"]
    # no early stopping and no selection on dev: the fully trained weights are kept
    settings = {**params, "patience": 0, "max_epochs": 15}
    baseline = build_student(name, **settings)
    baseline.fit(train, dev, seed=0)
    distilled = build_student(name, **settings)
    figures = distilled.fit(train, dev, transfer, seed=0)
    assert figures["n_transfer"] == len(transfer)
    before = baseline.predict_proba(probes)[:, 0]
    after = distilled.predict_proba(probes)[:, 0]
    targets = np.array(list(SOFT_TARGETS.values()))
    assert np.all(np.abs(after - targets) < 0.12), (before, after)
    assert np.all(np.abs(after - targets) < np.abs(before - targets))
    assert after[0] > after[1] + 0.3


MULTI = LabelSpace(("action", "comedy", "drama"), multilabel=True)


def multilabel_task(n: int = 10, seed: int = 0) -> Dataset:
    cue = {"action": "explosions", "comedy": "jokes", "drama": "tears"}
    texts, labels = [], []
    combos = [("action",), ("comedy",), ("drama",), ("action", "comedy"), ("comedy", "drama"), ()]
    rng = np.random.default_rng(seed)
    for combo in combos:
        for _ in range(n):
            words = [*rng.choice(FILLER, 3), *[cue[c] for c in combo], *rng.choice(FILLER, 2)]
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(combo)
    return Dataset.from_labels(texts, labels, MULTI)


@pytest.mark.parametrize("name,params", [("spacy-bow", BOW), ("spacy-cnn", CNN), ("spacy-fast", FAST), ("spacy-fast", {**FAST, "loss": "kl", "temperature": 2.0})])
def test_multilabel_task_with_soft_targets(name, params):
    train, dev = multilabel_task(), multilabel_task(n=3, seed=5)
    # multi-label soft rows need not sum to 1
    transfer = Dataset(["more jokes and tears", "tears"], np.array([[0.1, 0.9, 0.8], [0.0, 0.2, 0.95]], np.float32), MULTI, soft=True)
    student = build_student(name, **{**params, "max_epochs": 40})
    figures = student.fit(train, dev, transfer, seed=0)
    assert figures["dev_metric"] == "macro_f1" and figures["best_dev_score"] > 0.9
    probs = student.predict_proba(["explosions and jokes here", "only tears", "nothing at all"])
    assert ((probs >= 0.5).astype(int)).tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]
    result = evaluate_student(student, dev, size_bytes=1)
    assert result["task"] == "multilabel" and result["macro_f1"] > 0.9 and "confusion_matrices" in result


def test_save_load_round_trip_and_plain_spacy_load(tmp_path):
    train, dev, transfer = soft_task()
    student = build_student("spacy-cnn", **{**CNN, "max_epochs": 3})
    figures = student.fit(train, dev, transfer, seed=1)
    texts = ["great film", "awful", "zeta omega", "unseen words entirely"]
    save_student(student, tmp_path / "model", name="spacy-cnn", figures=figures)
    save_student(student, tmp_path / "model", name="spacy-cnn", figures=figures)  # overwriting an existing student works
    loaded = load_student(tmp_path / "model")
    assert type(loaded) is type(student) and loaded.label_space == student.label_space
    assert loaded.params == student.params and loaded.figures["steps"] == figures["steps"]
    assert np.array_equal(loaded.predict_proba(texts), student.predict_proba(texts))
    meta = json.loads((tmp_path / "model" / "kdtext_student.json").read_text())
    assert meta["student"] == "spacy-cnn" and meta["label_space"]["labels"] == ["pos", "neg"]
    assert student.size_bytes() > 100_000
    code = (
        "import json, sys, spacy\n"
        "nlp = spacy.load(sys.argv[1])\n"
        "print(json.dumps([doc.cats for doc in nlp.pipe(json.loads(sys.argv[2]))]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "model"), json.dumps(texts)], capture_output=True, text=True, check=True
    )
    cats = json.loads(out.stdout.strip().splitlines()[-1])
    expected = student.predict_proba(texts)
    assert np.allclose([[c["pos"], c["neg"]] for c in cats], expected, atol=1e-6)


def test_same_seed_same_model():
    train, dev = gold_task(BINARY), gold_task(BINARY, n=4, seed=3)
    texts = ["great", "awful film", "it was"]
    a = build_student("spacy-cnn", **{**CNN, "max_epochs": 2})
    b = build_student("spacy-cnn", **{**CNN, "max_epochs": 2})
    a.fit(train, dev, seed=7)
    b.fit(train, dev, seed=7)
    assert np.array_equal(a.predict_proba(texts), b.predict_proba(texts))


def test_docs_are_built_from_words_without_retokenizing():
    import spacy

    from kdtext.default_plugins.spacy.training import make_docs

    nlp = spacy.blank("en")
    docs = make_docs(nlp, ["l'avis isn't"], [["l'avis", "is", "n't"]], [[True, False, False]])
    assert [t.text for t in docs[0]] == ["l'avis", "is", "n't"] and docs[0].text == "l'avis isn't"
    train, dev = gold_task(BINARY), gold_task(BINARY, n=4, seed=3)
    words = [text.split() for text in train.texts]
    train.words, train.spaces = words, [[True] * (len(w) - 1) + [False] for w in words]
    student = build_student("spacy-bow", **{**BOW, "max_epochs": 5})
    student.fit(train, dev, seed=0)
    assert np.allclose(student.predict_dataset(train), student.predict_proba(train.texts), atol=1e-6)


@pytest.mark.parametrize("lang", ["en", "nl", "fr", "de", "it", "es"])
def test_six_languages(lang):
    cues = {"pos": {"en": "great", "nl": "geweldig", "fr": "génial", "de": "großartig", "it": "bellissimo", "es": "genial"}[lang],
            "neg": {"en": "awful", "nl": "vreselijk", "fr": "affreux", "de": "schrecklich", "it": "orribile", "es": "horrible"}[lang]}
    train = gold_task(cues, n=8)
    student = build_student("spacy-bow", **{**BOW, "lang": lang, "max_epochs": 8})
    student.fit(train, train, seed=0)
    assert student.nlp.lang == lang
    assert student.predict_proba([f"l'{cues['pos']}", cues["neg"]]).argmax(axis=1).tolist() == [0, 1]


def test_unknown_language_is_a_config_error():
    student = build_student("spacy-bow", **BOW, lang="xx-nope")
    with pytest.raises(ConfigError, match="xx-nope"):
        student.fit(gold_task(BINARY), gold_task(BINARY))


def test_bad_training_inputs_name_the_example():
    train = gold_task(BINARY)
    empty_dev = Dataset([], np.zeros((0, 2), np.float32), train.label_space, source="dev.jsonl")
    with pytest.raises(DataError, match="dev.jsonl: the dev set is empty"):
        build_student("spacy-bow", **BOW).fit(train, empty_dev)
    bad = Dataset(["a", "b"], np.array([[0.5, 0.5], [0.9, 0.3]], np.float32), train.label_space, soft=True,
                  source="soft.jsonl", lines=[1, 2])
    with pytest.raises(DataError, match=r"soft.jsonl:2: .*summing to 1.2000"):
        build_student("spacy-bow", **BOW).fit(train, train, bad)
    outside = Dataset(["a"], np.array([[1.5, -0.5]], np.float32), train.label_space, soft=True, source="s.jsonl", lines=[7])
    with pytest.raises(DataError, match=r"s.jsonl:7: .*outside \[0, 1\]"):
        build_student("spacy-bow", **BOW).fit(train, train, outside)
    other = Dataset.from_labels(["x", "y"], ["u", "v"])
    other.source = "other.jsonl"
    with pytest.raises(DataError, match="other.jsonl: transfer data has labels"):
        build_student("spacy-bow", **BOW).fit(train, train, other)


def test_untrained_or_missing_student_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not trained"):
        build_student("spacy-bow").predict_proba(["x"])
    with pytest.raises(ModelError, match="no such model directory"):
        load_student(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a kdtext student"):
        load_student(tmp_path / "empty")


def test_soft_textcat_component_accepts_soft_cats_where_spacy_refuses():
    import spacy
    from spacy.training import Example

    import kdtext.default_plugins.spacy.soft_textcat  # noqa: F401

    nlp = spacy.blank("en")
    component = nlp.add_pipe("kdtext_soft_textcat", config={"model": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1, "no_output_layer": False, "length": 1024}})
    example = Example.from_dict(nlp.make_doc("so so"), {"cats": {"pos": 0.6, "neg": 0.4}})
    optimizer = nlp.initialize(lambda: [example])
    losses = nlp.update([example], sgd=optimizer)
    assert losses["textcat"] >= 0 if "textcat" in losses else losses["kdtext_soft_textcat"] >= 0
    bad = Example.from_dict(nlp.make_doc("so so"), {"cats": {"pos": 0.6, "neg": 0.6}})
    with pytest.raises(DataError, match="sum to 1.2000"):
        component._validate_categories([bad])
    with pytest.raises(ConfigError, match="unknown loss"):
        nlp.add_pipe("kdtext_soft_textcat", name="other", config={"loss": "hinge"})


def test_every_student_is_evaluated_on_dev_at_least_once_an_epoch(capsys):
    # 24 gold examples at batch 8: 3 steps an epoch; eval_every 200 (spacy-fast's default) once gave a two-point curve
    student = build_student("spacy-fast", **{**FAST, "eval_every": 200, "max_epochs": 4, "patience": 10, "progress": True})
    student.progress_label = "baseline student"
    figures = student.fit(gold_task(BINARY), gold_task(BINARY, n=4, seed=3), seed=0)
    assert [point["step"] for point in figures["curve"]] == [3, 6, 9, 12]
    err = capsys.readouterr().err
    assert "training baseline student: epoch 1 of at most 4" in err  # the bar says which student
    assert "baseline student: ran all 4 epochs" in err and "kept step" in err


def test_patience_zero_keeps_the_last_weights():
    train, dev = gold_task(BINARY), gold_task(BINARY, n=4, seed=3)
    student = build_student("spacy-bow", **{**BOW, "max_epochs": 3, "patience": 0})
    figures = student.fit(train, dev, seed=0)
    assert figures["best_step"] == figures["steps"] and figures["stopped"] == "max_epochs" and len(figures["curve"]) == 3
    with pytest.raises(ConfigError, match="patience"):
        build_student("spacy-bow", patience=-1)
