"""The text side of building a corpus: which languages spaCy tokenizes, its blank pipeline,
the checks every text passes, and a spaCy ``Doc`` as the token rows a corpus stores.

:func:`check_language` answers without importing spaCy where it can (a corpus loaded from a
cache never needs it); :class:`kdtext.augment.builder.CorpusBuilder` tokenizes with
:func:`blank_pipeline` and stores what :func:`doc_tokens` gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

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


def import_spacy_without_torch() -> None:
    """Import spaCy without letting thinc import PyTorch, for a process that only tokenizes and tags.

    thinc imports torch at import time when it is installed, which costs about 1.3 s of CPU
    and 180 MB (more than spaCy itself) though tokenizers and the CNN taggers never use it.
    Afterwards ``import torch`` works as usual, but thinc reports no torch
    (``thinc.compat.has_torch``), which only thinc's PyTorch wrapper (spacy-transformers
    pipelines) minds: ``kdtext augment`` calls this, ``kdtext run`` does not. Does nothing
    when spaCy or torch is already imported.
    """
    import sys

    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy  # noqa: F401
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


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


def doc_arrays(docs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`doc_tokens` gives for each of ``docs``, for a whole batch at once and as arrays.

    Returns ``(orth, spaces, sent_starts, lengths)``: the kept tokens' ORTH hashes (uint64;
    ``doc.vocab.strings[h]`` is the text), their whitespace and sentence-start flags (uint8)
    and the number of kept tokens per document (int64). Built from ``Doc.to_array`` with
    NumPy instead of a Python loop over token objects, several times faster; tags are not
    read (use :func:`doc_tokens` for Docs with POS annotation).
    """
    from spacy.attrs import IS_SPACE, ORTH, SENT_START, SPACY

    lengths = np.fromiter((len(doc) for doc in docs), dtype=np.int64, count=len(docs))
    if not lengths.sum():
        return np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros(len(docs), np.int64)
    table = np.concatenate([doc.to_array([ORTH, SPACY, IS_SPACE, SENT_START]) for doc in docs if len(doc)])
    orth = table[:, 0]
    spaces = table[:, 1].astype(np.uint8)
    blank = table[:, 2].astype(bool)
    # SENT_START is 1, -1 or 0 (unset) stored in uint64: only 1 starts a sentence; without sentence
    # boundaries every token but a Doc's first is 0
    starts = table[:, 3] == 1
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    position = np.arange(orth.shape[0], dtype=np.int64)
    if blank.any():
        # a whitespace token becomes a space flag on the kept token before it in its document...
        last_kept = np.maximum.accumulate(np.where(blank, -1, position))[blank]
        ok = last_kept >= 0
        ok[ok] &= doc_of[last_kept[ok]] == doc_of[blank][ok]
        spaces[last_kept[ok]] = 1
        # ...and passes a sentence start on to the kept token after it in its document
        after = np.minimum.accumulate(np.where(blank, orth.shape[0], position)[::-1])[::-1]
        moved = blank & starts
        target = after[moved]
        ok = target < orth.shape[0]
        ok[ok] &= doc_of[target[ok]] == doc_of[moved][ok]
        starts[target[ok]] = True
    keep = ~blank
    kept_lengths = np.bincount(doc_of[keep], minlength=len(docs)).astype(np.int64)
    orth, spaces, starts = orth[keep], spaces[keep], starts[keep].astype(np.uint8)
    ends = np.cumsum(kept_lengths)
    nonempty = kept_lengths > 0
    spaces[ends[nonempty] - 1] = 0  # nothing follows a document's last token
    starts[(ends - kept_lengths)[nonempty]] = 1  # its first starts a sentence
    return orth, spaces, starts, kept_lengths


def string_ids(strings: Sequence[str], index: dict[str, int], names: list[str]) -> np.ndarray:
    """int32 ids of ``strings`` in ``names`` (``index``: string -> id), appending the strings it lacks:
    how a corpus numbers its words and tags, in order of first appearance."""
    ids = np.empty(len(strings), np.int32)
    for j, string in enumerate(strings):
        found = index.get(string)
        if found is None:
            found = index[string] = len(names)
            names.append(string)
        ids[j] = found
    return ids


def hash_ids(orth: np.ndarray, docs: Sequence[Any], by_hash: dict[int, int], index: dict[str, int], names: list[str]) -> np.ndarray:
    """:func:`string_ids` of the words whose ORTH hashes are ``orth`` (int32), looked up by hash first
    (``by_hash`` remembers them): new words are numbered in order of first appearance, as
    :func:`string_ids` would number the strings, but each distinct hash is looked at once."""
    hashes, first, inverse = np.unique(orth, return_index=True, return_inverse=True)
    ids = np.empty(hashes.shape[0], np.int32)
    stores = {id(doc.vocab): doc.vocab.strings for doc in docs}
    store = next(iter(stores.values()), None)
    for j in np.argsort(first, kind="stable").tolist():
        h = int(hashes[j])
        wid = by_hash.get(h)
        if wid is None:
            word = store[h] if len(stores) == 1 else next(s[h] for s in stores.values() if h in s)
            wid = by_hash[h] = int(string_ids((word,), index, names)[0])
        ids[j] = wid
    return ids[inverse.reshape(-1)]


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
