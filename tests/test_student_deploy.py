"""Students deploy without the teacher's stack: a saved student and its wheel need spaCy alone.

"spaCy alone" is simulated in a subprocess: importing kdtext, torch or transformers
raises, and kdtext's entry points are hidden from spaCy (as if kdtext were not
installed), so anything that needs them fails there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from kdtext.data import Dataset
from kdtext.students import build_student, save_student


from test_student import CNN, FAST, soft_task  # noqa: E402  (pytest puts tests/ on sys.path)

SPACY_ALONE = r'''
import importlib.metadata as metadata, json, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("kdtext", "torch", "transformers"):
            raise ImportError(f"{name} is not installed here")

sys.meta_path.insert(0, Refuse())
_entry_points = metadata.entry_points

def entry_points(**kwargs):
    found = _entry_points(**kwargs)
    keep = lambda group: [ep for ep in group if not ep.value.startswith("kdtext")]
    if isinstance(found, dict):
        return {name: keep(group) for name, group in found.items()}
    return metadata.EntryPoints(keep(found))

metadata.entry_points = entry_points
sys.path[:0] = json.loads(sys.argv[3])
import spacy
nlp = spacy.load(sys.argv[1])
cats = [doc.cats for doc in nlp.pipe(json.loads(sys.argv[2]))]
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"kdtext", "torch", "transformers"})
print(json.dumps({"cats": cats, "heavy": heavy}))
'''

TEXTS = ["great film", "awful", "zeta omega", "unseen words entirely"]


def load_with_spacy_alone(name_or_path: str, paths: list[str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SPACY_ALONE, name_or_path, json.dumps(TEXTS), json.dumps(paths or [])],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def vectors_file(tmp_path_factory):
    from kdtext.students.vectors import save_vectors

    words = "the a film movie it was this one really quite great awful zeta omega".split()
    path = tmp_path_factory.mktemp("vectors") / "vectors.npz"
    save_vectors(path, words, np.random.default_rng(0).normal(size=(len(words), 8)).astype(np.float32))
    return path


@pytest.mark.parametrize(
    "name,params",
    [
        ("spacy-fast", FAST),
        ("spacy-fast", {**FAST, "encoder": "window+lstm"}),  # thinc's numpy LSTM: still spaCy alone
        ("spacy-cnn", CNN),
        ("spacy-bow", {"progress": False, "max_epochs": 3}),
    ],
)
def test_saved_student_loads_and_classifies_with_spacy_alone(tmp_path, vectors_file, name, params):
    train, dev, transfer = soft_task()
    if name != "spacy-bow":
        params = {**params, "vectors": str(vectors_file)}
    student = build_student(name, **{**params, "max_epochs": 3})
    figures = student.fit(train, dev, transfer, seed=0)
    save_student(student, tmp_path / "model", name=name, figures=figures)
    config = (tmp_path / "model" / "config.cfg").read_text()
    assert "kdtext" not in config and 'factory = "textcat"' in config
    result = load_with_spacy_alone(str(tmp_path / "model"))
    assert result["heavy"] == []
    cats = np.array([[c["pos"], c["neg"]] for c in result["cats"]])
    assert np.allclose(cats, student.predict_proba(TEXTS), atol=1e-6)


def test_multilabel_student_saves_as_stock_textcat_multilabel(tmp_path):
    from test_student import multilabel_task

    train, dev = multilabel_task(), multilabel_task(n=3, seed=5)
    student = build_student("spacy-fast", **{**FAST, "max_epochs": 3})
    save_student(student, tmp_path / "model", name="spacy-fast", figures=student.fit(train, dev, seed=0))
    assert 'factory = "textcat_multilabel"' in (tmp_path / "model" / "config.cfg").read_text()
    result = load_with_spacy_alone(str(tmp_path / "model"))
    assert result["heavy"] == [] and set(result["cats"][0]) == {"action", "comedy", "drama"}


def test_packaged_wheel_requires_and_needs_spacy_alone(tmp_path, vectors_file):
    from kdtext.students.packaging import package_student

    train, dev, transfer = soft_task()
    student = build_student("spacy-fast", **{**FAST, "max_epochs": 2, "vectors": str(vectors_file)})
    save_student(student, tmp_path / "model", name="spacy-fast", figures=student.fit(train, dev, transfer, seed=0))
    result = package_student(tmp_path / "model", tmp_path / "dist", name="kd_alone", version="0.0.1", build="wheel")
    (wheel,) = [a for a in result["artifacts"] if a.endswith(".whl")]
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all(r.startswith("spacy") for r in requires), requires
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), wheel],
                   check=True, capture_output=True)  # fmt: skip
    loaded = load_with_spacy_alone(result["name"], [str(site)])
    assert loaded["heavy"] == []
    assert np.allclose([[c["pos"], c["neg"]] for c in loaded["cats"]], student.predict_proba(TEXTS), atol=1e-6)


def test_logit_loss_matches_logits_and_falls_back_to_cross_entropy_on_gold_rows():
    import spacy

    nlp = spacy.blank("en")
    from kdtext.default_plugins.spacy import soft_textcat as spacy_soft  # noqa: F401

    textcat = nlp.add_pipe(spacy_soft.FACTORY_NAME, config={"loss": "logits", "model": FAST_MODEL})
    scores = np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25], [0.6, 0.3, 0.1]], np.float32)
    truths = np.array([[0.7, 0.2, 0.1], [0.8, 0.1, 0.1], [1.0, 0.0, 0.0]], np.float32)
    textcat._output_space = "logits"
    value, grad = textcat._logit_loss(scores, truths)
    assert np.allclose(grad[0], 0, atol=1e-6)  # same distribution: same logits
    student, teacher = np.log(scores[1]), np.log(truths[1])
    assert np.allclose(grad[1], (student - student.mean()) - (teacher - teacher.mean()), atol=1e-5)
    assert np.allclose(grad[2], scores[2] - truths[2])  # a gold row: cross-entropy
    assert value == pytest.approx(0.5 * float((grad**2).sum(axis=1).mean()), rel=1e-5)


FAST_MODEL = {
    "@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1, "no_output_layer": False, "length": 1024,
}  # fmt: skip


def test_logit_targets_train_the_student_toward_the_teacher_logits():
    train, dev, transfer = soft_task()
    settings = {**FAST, "loss": "logits", "eval_every": 10**6, "max_epochs": 15}

    def logit_error(student) -> float:
        student_logits = np.log(student.predict_proba(transfer.texts))
        teacher_logits = np.log(transfer.targets)
        diff = (student_logits - student_logits.mean(1, keepdims=True)) - (teacher_logits - teacher_logits.mean(1, keepdims=True))
        return float((diff**2).sum(1).mean())

    baseline = build_student("spacy-fast", **settings)
    baseline.fit(train, dev, seed=0)
    student = build_student("spacy-fast", **settings)
    student.fit(train, dev, transfer, seed=0)
    assert logit_error(student) < 0.1 * logit_error(baseline)
    probs = student.predict_proba(["it was zeta the film", "it was omega the film"])[:, 0]
    assert abs(probs[0] - 0.75) < 0.12 and abs(probs[1] - 0.2) < 0.12


def test_training_says_why_it_stopped(capsys):
    train, dev, transfer = soft_task()
    student = build_student("spacy-fast", **{**FAST, "progress": True, "eval_every": 1, "patience": 2, "max_epochs": 50})
    figures = student.fit(train, dev, transfer, seed=0)
    err = capsys.readouterr().err
    assert figures.extra.get("stopped", figures.as_dict().get("stopped")) == "patience"
    assert "early stopping: dev accuracy did not improve in 2 evaluations" in err
    assert f"kept step {figures.best_step:,}" in err and "of at most 50" in err


EMPTY_TEXTS = ["", "   ", "\n\t", "great film"]


def _cats_with_spacy_alone(name_or_path: str, paths: list[str] | None = None) -> list[dict]:
    """The cats of each of EMPTY_TEXTS read alone (``nlp(text)``), then of all of them in one ``nlp.pipe`` batch."""
    script = SPACY_ALONE.replace(
        "cats = [doc.cats for doc in nlp.pipe(json.loads(sys.argv[2]))]",
        "texts = json.loads(sys.argv[2]); cats = [nlp(t).cats for t in texts] + [d.cats for d in nlp.pipe(texts)]",
    )
    out = subprocess.run([sys.executable, "-c", script, name_or_path, json.dumps(EMPTY_TEXTS), json.dumps(paths or [])],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    return result["cats"]


@pytest.mark.parametrize("pooling", ["ensemble", "reduce"])
def test_an_empty_or_blank_text_gets_a_distribution_from_a_saved_and_a_packaged_student(tmp_path, pooling):
    """Issue #21 item 10: the saved student and its wheel answered "" with {'pos': 0.0, 'neg': 0.0}
    (and spacy-fast's reduce pooling could not take "" among other texts at all)."""
    from kdtext.students import load_student
    from kdtext.students.packaging import package_student

    train, dev, transfer = soft_task()
    student = build_student("spacy-fast", **{**FAST, "max_epochs": 2, "pooling": pooling})
    save_student(student, tmp_path / "model", name="spacy-fast", figures=student.fit(train, dev, transfer, seed=0))
    # plain spacy.load of the folder, spaCy alone: blank texts are a token, fine; "" alone stays
    # spaCy's all-zero answer (no stock component or layer can change it, see empty_text.py)
    raw = _cats_with_spacy_alone(str(tmp_path / "model")) if pooling == "ensemble" else None
    if raw is not None:
        assert all(abs(sum(cats.values()) - 1) < 1e-5 for i, cats in enumerate(raw) if i != 0)

    # the package: spaCy alone answers every one of them with a distribution, "" with the uniform one
    result = package_student(tmp_path / "model", tmp_path / "dist", name=f"kd_empty_{pooling}", version="0.0.1", build="wheel")
    (wheel,) = [a for a in result["artifacts"] if a.endswith(".whl")]
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), wheel],
                   check=True, capture_output=True)  # fmt: skip
    cats = _cats_with_spacy_alone(result["name"], [str(site)])
    sums = [sum(c.values()) for c in cats]
    assert np.allclose(sums, 1.0, atol=1e-5), cats
    assert cats[0] == {"pos": 0.5, "neg": 0.5} and cats[4] == cats[0]  # "" alone and in a batch
    loaded = load_student(tmp_path / "model")  # kdtext's own reading of it, alone and in a batch
    probs = np.concatenate([loaded.predict_proba([text]) for text in EMPTY_TEXTS] + [loaded.predict_proba(EMPTY_TEXTS)])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and np.allclose(probs[[0, 4]], 0.5)
    assert np.allclose([[c["pos"], c["neg"]] for c in cats], probs, atol=1e-5)  # the package answers as kdtext does
