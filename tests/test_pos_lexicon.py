"""PosLexicon: the most frequent tag per word type, and guesses for words it has not seen."""

from __future__ import annotations

import pytest

from kdtext.augment.pos_lexicon import PosLexicon, word_shape


def lexicon(*docs: str) -> PosLexicon:
    """A lexicon from documents written as ``word/TAG word/TAG ...``."""
    lex = PosLexicon()
    for doc in docs:
        pairs = [token.rsplit("/", 1) for token in doc.split()]
        lex.learn([w for w, _ in pairs], [t for _, t in pairs])
    return lex


def test_the_most_frequent_tag_of_a_word_wins():
    lex = lexicon("I/PRON like/VERB it/PRON", "like/ADP a/DET dog/NOUN", "they/PRON like/VERB cats/NOUN")
    assert lex.tag("like") == "VERB" and lex.tag("dog") == "NOUN"
    assert lex.n_types == 7 and lex.n_tokens == 9


def test_title_case_falls_back_to_the_lower_case_word():
    lex = lexicon("the/DET film/NOUN ran/VERB", "a/DET film/NOUN")
    assert lex.tag("Film") == "NOUN" and lex.tag("The") == "DET"


def test_unseen_words_are_guessed_from_rare_words_of_the_same_shape_and_suffix():
    lex = lexicon(
        "she/PRON walked/VERB quickly/ADV", "he/PRON talked/VERB slowly/ADV", "Paris/PROPN is/AUX big/ADJ",
        "the/DET the/DET the/DET 42/NUM ,/PUNCT",
    )  # fmt: skip
    assert lex.tag("jumped") == "VERB"  # -ed, like walked and talked
    assert lex.tag("happily") == "ADV"  # -ly
    assert lex.tag("London") == "PROPN"  # capitalised, suffix unseen
    assert lex.tag("1999") == "NUM" and lex.tag(";") == "PUNCT"


def test_a_frozen_lexicon_learns_nothing_more():
    lex = lexicon("a/DET b/NOUN")
    assert lex.tag("b") == "NOUN"
    with pytest.raises(RuntimeError, match="frozen"):
        lex.learn(["b"], ["VERB"])


def test_word_shapes():
    assert [word_shape(w) for w in ("12.5", "...", "Paris", "paris", "NASA", "iPhone")] == ["num", "punct", "upper", "lower", "upper", "lower"]
