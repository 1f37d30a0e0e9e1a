"""The plain Python augmentation API, over synthetic sets (:mod:`kdtext.augment.synthetic`) and the
kernel driver (:mod:`kdtext.augment.kernels`), whose public names are importable from here too.

Quick use, without the CLI::

    from kdtext.augment import augment

    for example in augment(["A gripping, well-acted thriller.", "Dull and far too long."],
                           augmenter="tang", n=50, seed=0, lang="en"):
        print(example.source, example.text)

Inside a pipeline, keep the arrays::

    from kdtext.augment import augment_corpus, build_corpus

    corpus = build_corpus(train_texts + pool_texts, lang="en")     # a kdtext.augment.corpus.TokenizedCorpus
    synthetic = augment_corpus(corpus, "tang", n=60_000, seed=0, mask_token="[MASK]")
    synthetic.texts()                      # list[str]
    synthetic.to_words_spaces()            # words and whitespace flags, for spaCy Docs
    teacher.input_ids(synthetic)           # a teacher's input ids, where it has them: no re-tokenizing
    synthetic.save("synthetic.npz"); SyntheticSet.load("synthetic.npz")

How many examples. Augmenters work in rounds: in round ``r`` every source document
(of two tokens or more) gives at most one example, from its own random stream seeded by
(seed, global document index, r). Examples are kept in (round, document) order; with
``unique`` set, duplicates and exact copies of any source document are dropped. Rounds
continue until ``n`` examples are kept or ``n_iter`` rounds are done, so a run gives
``min(n, what n_iter rounds can give)`` examples. The output does not depend on how the
corpus is split into shards: :meth:`SyntheticSet.merge` of per-shard sets equals the
set of the whole corpus.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .. import _compat
from .kernels import run_kernel
from .rounds import run_augmenter
from .synthetic import MIN_TOKENS, AugmentedExample, SyntheticSet

if TYPE_CHECKING:
    from .corpus import TokenizedCorpus

__all__ = [
    "MIN_TOKENS", "AugmentedExample", "SyntheticSet", "augment", "augment_corpus", "augment_file", "build_corpus",
    "make_augmenter", "needs_tags", "read_source_texts", "run_augmenter", "run_kernel",
]  # fmt: skip

#: kdtext 0.1's teacher-id names, now in kdtext.default_plugins.bert.teacher_ids: a warning, for one release.
__getattr__ = _compat.moved_names(__name__)


# -- the plain Python API ----------------------------------------------------------------------


def needs_tags(augmenter: Any) -> bool:
    """Whether an augmenter instance needs a POS-tagged corpus (plugins without the attribute: yes, if one exists)."""
    return bool(getattr(augmenter, "needs_tags", True))


def make_augmenter(name: str, **params: Any) -> Any:
    """The augmenter registered as ``name``, built with ``params`` (errors list what exists)."""
    from .. import plugins

    return plugins.get_augmenter(name)(**params)


def augment_corpus(corpus: "TokenizedCorpus", augmenter: str = "tang", n: int | None = None, seed: int = 0, **params: Any) -> SyntheticSet:
    """``n`` synthetic examples (``None``: as many as ``n_iter`` rounds give) made from ``corpus``."""
    aug = make_augmenter(augmenter, **params)
    return run_augmenter(aug, corpus, n, seed=seed)


def build_corpus(texts: Iterable[Any], lang: str = "en", augmenter: Any = None, **kwargs: Any) -> "TokenizedCorpus":
    """A corpus tagged only if ``augmenter`` (an instance) needs tags: the best tagger for ``lang``;
    ``kwargs`` go to :func:`kdtext.augment.builder.corpus_from_texts` (``tagger=`` chooses yourself)."""
    from .builder import corpus_from_texts
    from .tokenizer import check_language

    check_language(lang)
    if "tagger" not in kwargs:
        if augmenter is not None and not needs_tags(augmenter):
            kwargs["tagger"] = None
        elif augmenter is not None and getattr(augmenter, "requires_tags", False):
            from .tagging import tagger_for

            kwargs["tagger"] = tagger_for(lang)  # a clear error when the language has no tagger
        else:
            kwargs["tagger"] = "auto"
    return corpus_from_texts(texts, lang=lang, **kwargs)


def augment(
    texts: Iterable[Any],
    augmenter: str = "tang",
    n: int | None = None,
    seed: int = 0,
    lang: str = "en",
    **params: Any,
) -> Iterator[AugmentedExample]:
    """Augment texts (strings or spaCy ``Doc``\\s): an iterator of :class:`AugmentedExample`.

    ``source`` of each example is the position of its text in ``texts``. ``params`` are
    the augmenter's parameters (``p_mask``, ``p_pos``, ``p_ng``, ``n_min``, ``n_max``,
    ``n_iter``, ``mask_token``, ``unique``). Same inputs and seed, same examples.
    """
    aug = make_augmenter(augmenter, **params)
    corpus = build_corpus(texts, lang, aug)
    synthetic = run_augmenter(aug, corpus, n, seed=seed)
    return iter(synthetic)


def read_source_texts(path: str | os.PathLike, text_field: str = "text", max_chars: int | None = None) -> tuple[list[str], list[int]]:
    """Texts and their line numbers from a JSONL or CSV file, for augmentation.

    A missing or non-string field, invalid UTF-8 or a text over ``max_chars`` characters
    is a :class:`kdtext.errors.DataError` naming the file and line. Empty texts are kept
    (as documents of no tokens, which augmenters skip and count), so indices match lines.
    """
    from pathlib import Path

    from ..data import iter_records
    from ..errors import DataError
    from .tokenizer import MAX_CHARS

    limit = MAX_CHARS if max_chars is None else max_chars
    path = Path(path)
    texts: list[str] = []
    lines: list[int] = []
    for record in iter_records(path):
        if text_field not in record.data:
            raise DataError(path, record.line, f"missing {text_field!r} field")
        text = record.data[text_field]
        if not isinstance(text, str):
            raise DataError(path, record.line, f"{text_field!r} must be a string, got {type(text).__name__}")
        if len(text) > limit:
            raise DataError(
                path, record.line,
                f"text is {len(text):,} characters long, over the limit of {limit:,}; split long documents into paragraphs first",
            )  # fmt: skip
        texts.append(text)
        lines.append(record.line)
    if not texts:
        raise DataError(path, None, "no texts in the file")
    return texts, lines


def augment_file(
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    augmenter: str = "tang",
    n: int | None = None,
    seed: int = 0,
    lang: str = "en",
    tagger: str = "auto",
    params: dict[str, Any] | None = None,
    text_field: str = "text",
    progress: bool = False,
    engine: Any = None,
    cache_dir: str | os.PathLike | None = None,
    tag_sample: int | None = None,
) -> dict[str, Any]:
    """What ``kdtext augment`` does: read texts, augment them, write JSONL atomically.

    ``engine`` (see :mod:`kdtext.labelling.engine`) runs the augmentation itself, e.g. on Ray;
    the file is the same for the same seed. ``n`` sizes the rounds (:func:`kdtext.augment.rounds.augment_n`).
    With ``cache_dir``, texts tokenized and tagged by an earlier call are loaded from
    there (see :func:`kdtext.augment.builder.corpus_from_texts`). ``tag_sample``: tokens the POS tagger
    tags in context before the rest is tagged by word type (None: the default,
    :data:`kdtext.augment.builder.TAG_SAMPLE`; 0: all in context). Returns a summary: counts, skipped
    texts by reason, notes, seconds, ``engine`` (its throughput figures, or None when run
    here) and ``line`` (the one-line summary for people).
    """
    import time

    start = time.perf_counter()
    aug = make_augmenter(augmenter, **(params or {}))
    texts, lines = read_source_texts(input_path, text_field)
    kwargs: dict[str, Any] = {"source": str(input_path), "lines": lines, "cache_dir": cache_dir}
    if tag_sample is not None:
        kwargs["tag_sample"] = tag_sample
    if tagger != "auto":
        kwargs["tagger"] = tagger if needs_tags(aug) else None
    from .tokenizer import check_language

    check_language(lang)
    if getattr(aug, "requires_tags", False):
        from .tagging import tagger_for

        kwargs["tagger"] = tagger_for(lang, tagger)
    bar = _progress(progress, len(texts), "tokenizing")
    try:
        corpus = build_corpus(texts, lang, aug, progress=bar.update if bar is not None else None, **kwargs)
    finally:
        if bar is not None:
            bar.close()
    from ..io import atomic_write
    from .jsonl import JsonlSink
    from .rounds import augment_n

    # the examples are written as the augmenter makes them, round by round: memory holds one round's
    bar = _progress(progress, n, "augmenting and writing")
    try:
        with atomic_write(output, "wb") as handle:
            sink = JsonlSink(handle, progress=bar.update if bar is not None else None)
            _, figures = augment_n(corpus, augmenter, params or {}, n, seed=seed, engine=engine, sink=sink)
    finally:
        if bar is not None:
            bar.close()
    count = sink.examples
    seconds = time.perf_counter() - start
    skipped = dict(sink.skipped)
    n_skipped = sum(skipped.values())
    asked = f" (of the {n:,} asked for: these texts give no more distinct ones)" if n is not None and count < n else ""
    line = (
        f"wrote {count:,} examples{asked} from {len(texts):,} texts to {output} "
        f"(augmenter {augmenter}, seed {seed}, "
        + (f"engine {engine.name} on {figures.get('workers', 1)} workers, " if engine is not None else "")
        + f"{seconds:.1f} s)"
    )
    if n_skipped:
        line += f"; skipped {n_skipped:,} texts: " + ", ".join(f"{v:,} {k.replace('_', '-')}" for k, v in skipped.items())
    else:
        line += "; skipped 0 texts"
    return {
        "examples": count,
        "texts": len(texts),
        "skipped": skipped,
        "notes": list(sink.notes),
        "seconds": seconds,
        "engine": figures,
        "line": line,
    }


def _progress(enabled: bool, total: int | None, desc: str) -> Any:
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" texts" if desc == "tokenizing" else " examples", file=sys.stderr, leave=False)
