"""The text side of building a corpus: which languages spaCy tokenizes, its blank pipeline,
the checks every text passes, and a spaCy ``Doc`` as the token rows a corpus stores.

:func:`check_language` answers without importing spaCy where it can (a corpus loaded from a
cache never needs it); :class:`kdtext.augment.builder.CorpusBuilder` tokenizes with
:func:`blank_pipeline` and stores what :func:`doc_tokens` gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError, DataError

#: Longest text accepted, in characters (Python ``len``). Longer texts are usually a
#: wrong field or an unsplit document; they are an error naming the line.
MAX_CHARS = 100_000


def check_language(lang: str) -> None:
    """Raise :class:`ConfigError` unless spaCy can tokenize language ``lang``."""
    if _shipped_by_spacy(lang):
        return  # importing spaCy (and, through thinc, torch) costs seconds a corpus loaded from a cache never needs
    import spacy

    try:
        spacy.util.get_lang_class(lang)
    except (ImportError, KeyError, ValueError) as exc:
        raise ConfigError(f"unknown language {lang!r}: spaCy has no tokenizer for it ({type(exc).__name__})") from None


def _shipped_by_spacy(lang: str) -> bool:
    """Whether the installed spaCy has a ``spacy/lang/<lang>`` package, found without importing spaCy."""
    import importlib.util
    import re

    if not re.fullmatch(r"[a-z]{2,3}", lang):
        return False
    spec = importlib.util.find_spec("spacy")
    locations = spec.submodule_search_locations if spec is not None else None
    return any((Path(where) / "lang" / lang / "__init__.py").is_file() for where in locations or ())


def blank_pipeline(lang: str) -> Any:
    """``spacy.blank(lang)`` with a rule-based sentencizer; a clear error for unknown languages."""
    import spacy

    try:
        nlp = spacy.blank(lang)
    except (ImportError, KeyError, ValueError) as exc:
        raise ConfigError(f"unknown language {lang!r}: spaCy has no tokenizer for it ({type(exc).__name__})") from None
    nlp.add_pipe("sentencizer")
    return nlp


def is_doc(item: Any) -> bool:
    """Whether ``item`` is a spaCy ``Doc`` (told without importing spaCy)."""
    return hasattr(item, "has_annotation") and hasattr(item, "vocab") and not isinstance(item, str)


def check_text(text: Any, i: int, source: Any, lines: Sequence[int] | None, max_chars: int) -> str:
    """``text``, checked: a string, at most ``max_chars`` long, valid Unicode (a :class:`DataError`
    naming ``source`` and the line ``lines[i]``, or the text's number, otherwise)."""
    line = lines[i] if lines is not None and i < len(lines) else None
    where_path, where_line = (source, line) if source is not None else (None, None)
    label = "" if source is not None else f"text {i + 1}: "
    if not isinstance(text, str):
        raise DataError(where_path, where_line, f"{label}a text must be a string, got {type(text).__name__}")
    if len(text) > max_chars:
        raise DataError(
            where_path,
            where_line,
            f"{label}text is {len(text):,} characters long, over the limit of {max_chars:,}; "
            "split long documents into paragraphs first",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(where_path, where_line, f"{label}text is not valid Unicode (it holds a lone surrogate)") from None
    return text


def doc_tokens(doc: Any) -> tuple[list[str], list[bool], list[bool], list[str] | None]:
    """``(words, spaces, sent_starts, tags)`` of a spaCy ``Doc``: whitespace tokens dropped (a space flag
    on the token before them), tags only where the Doc has POS annotation (else None)."""
    words, spaces, starts = [], [], []
    doc_tags: list[str] | None = [] if doc.has_annotation("POS") else None
    has_sents = doc.has_annotation("SENT_START")
    pending_start = True
    for token in doc:
        if token.is_space or not token.text.strip():
            if words:
                spaces[-1] = True
            pending_start = pending_start or (has_sents and token.is_sent_start)
            continue
        words.append(token.text)
        spaces.append(bool(token.whitespace_))
        starts.append(pending_start or (has_sents and bool(token.is_sent_start)))
        pending_start = False
        if doc_tags is not None:
            doc_tags.append(token.pos_ or "X")
    if spaces:
        spaces[-1] = False
    return words, spaces, starts, doc_tags
