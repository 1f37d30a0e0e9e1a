"""Representation targets: the spaCy students learn the teacher's sentence vectors beside its labels."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.data import Dataset
from kdtext.default_plugins.spacy.representation import RepresentationTargets
from kdtext.labels import LabelSpace
from kdtext.pipeline.artifacts import concat
from kdtext.students import build_student

WORDS = "good great fine fun bad awful dull poor film plot cast story very not quite".split()


def _toy(n: int, seed: int, width: int = 24) -> tuple[Dataset, np.ndarray]:
    """Texts of random words, soft labels from the sentiment words, and a 'teacher representation'
    that is the mean of a fixed random vector per word (so a student can learn it from the words)."""
    rng = np.random.default_rng(seed)
    word_vectors = {w: np.random.default_rng(i).normal(size=width) for i, w in enumerate(WORDS)}
    texts, rows, reps = [], [], []
    for _ in range(n):
        words = list(rng.choice(WORDS, size=rng.integers(2, 7)))
        score = sum(w in ("good", "great", "fine", "fun") for w in words) - sum(w in ("bad", "awful", "dull", "poor") for w in words)
        p = 1 / (1 + np.exp(-score))
        texts.append(" ".join(words))
        rows.append([1 - p, p])
        reps.append(np.mean([word_vectors[w] for w in words], axis=0))
    space = LabelSpace(("neg", "pos"))
    return Dataset(texts, np.array(rows, np.float32), space, soft=True, reps=np.array(reps, np.float32)), np.array(reps)


def test_targets_are_pca_components_with_unit_average_variance():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 40)) + 3.0  # rank 16 in 40 dimensions
    pca = RepresentationTargets(8).fit(reps)
    out = pca.transform(reps)
    assert out.shape == (500, 8) and out.dtype == np.float32
    assert np.mean(out.var(axis=0, ddof=1)) == pytest.approx(1.0, rel=1e-3)
    variances = out.var(axis=0)
    assert np.all(np.diff(variances) <= 1e-6)  # components in order of variance
    assert np.allclose(out.mean(axis=0), 0, atol=1e-6)
    again = RepresentationTargets(8).fit(reps).transform(reps)
    np.testing.assert_array_equal(out, again)


def test_rows_without_a_representation_stay_empty():
    reps = np.random.default_rng(1).normal(size=(50, 10))
    reps[3] = np.nan
    pca = RepresentationTargets(4).fit(reps)  # NaN rows are left out of the fit
    out = pca.transform(reps)
    assert np.isnan(out[3]).all() and np.isfinite(np.delete(out, 3, axis=0)).all()


def test_subset_and_concat_keep_representations():
    data, reps = _toy(10, 0)
    part = data.subset([1, 3])
    np.testing.assert_array_equal(part.reps, data.reps[[1, 3]])
    plain = Dataset(["x y"], np.array([[0.5, 0.5]], np.float32), data.label_space, soft=True, words=[["x", "y"]], spaces=[[True, False]])
    data.words, data.spaces = [t.split() for t in data.texts], [[True] * len(t.split()) for t in data.texts]
    joined = concat(data, plain)
    assert joined.reps.shape == (11, reps.shape[1])
    assert np.isnan(joined.reps[10]).all() and np.isfinite(joined.reps[:10]).all()
    with pytest.raises(ValueError, match="reps have shape"):
        Dataset(["a"], np.array([[1.0, 0.0]], np.float32), data.label_space, reps=np.zeros((2, 3)))


@pytest.mark.parametrize("student", ["spacy-fast"])
def test_the_representation_loss_lowers_its_own_error(student, tmp_path):
    transfer, _ = _toy(400, 0)
    train, _ = _toy(60, 1)
    dev, _ = _toy(60, 2)
    params = {"width": 16, "embed_size": 500, "batch_size": 32, "max_epochs": 5, "eval_every": 15, "patience": 100,
              "progress": False, "rep_weight": 1.0, "rep_dims": 8}  # fmt: skip
    model = build_student(student, **params)
    figures = model.fit(train, dev, transfer, seed=0)
    losses = [point["representation_loss"] for point in figures.curve if np.isfinite(point.get("representation_loss", np.nan))]
    assert len(losses) >= 5
    assert losses[-1] < 0.6 * losses[0], losses
    # the saved student is an ordinary pipeline: the projection is not in it
    model.save(tmp_path / "with")
    plain = build_student(student, **{**params, "rep_weight": 0.0})
    plain.fit(train, dev, transfer, seed=0)
    plain.save(tmp_path / "without")
    assert (tmp_path / "with" / "config.cfg").read_text() == (tmp_path / "without" / "config.cfg").read_text()


def test_rep_weight_without_teacher_representations_is_an_error_not_a_silent_no_op():
    from kdtext.errors import ConfigError

    transfer, _ = _toy(200, 0)
    transfer.reps = None
    train, _ = _toy(40, 1)
    model = build_student("spacy-fast", width=16, max_epochs=2, progress=False, rep_weight=1.0, rep_dims=8)
    with pytest.raises(ConfigError, match="rep_weight.*sentence representations"):
        model.fit(train, train, transfer, seed=0)
    plain = build_student("spacy-fast", width=16, max_epochs=2, progress=False)
    figures = plain.fit(train, train, transfer, seed=0)
    assert all("representation_loss" not in point for point in figures.curve)
