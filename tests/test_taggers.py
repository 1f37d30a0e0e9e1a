"""Built-in POS taggers, choosing one per language, and `kdtext taggers`."""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

import kdtext
from kdtext import plugins
from kdtext.cli import cli
from kdtext.augment import tagging
from kdtext.default_plugins import taggers
from kdtext.errors import ConfigError, UnknownPluginError

UD_TAGS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
           "SCONJ", "SYM", "VERB", "X"}  # fmt: skip
needs_brill = pytest.mark.skipif(importlib.util.find_spec("brill_postaggers") is None, reason="brill-postagger not installed")


def test_both_taggers_are_registered_plugins():
    regs = plugins.registrations("register_taggers")
    assert regs["spacy"].factory is taggers.SpacyTagger and regs["brill"].factory is taggers.BrillTagger
    assert issubclass(taggers.SpacyTagger, kdtext.Tagger) and issubclass(taggers.BrillTagger, kdtext.Tagger)


@needs_brill
@pytest.mark.parametrize(
    "lang, words",
    [
        ("en", ["The", "film", "was", "good", "."]),
        ("de", ["Der", "Film", "war", "gut", "."]),
        ("fr", ["Le", "film", "était", "bon", "."]),
        ("es", ["La", "película", "era", "buena", "."]),
        ("it", ["Il", "film", "era", "buono", "."]),
        ("nl", ["De", "film", "was", "goed", "."]),
    ],
)
def test_brill_tags_six_languages_with_universal_tags(lang, words):
    tagger = tagging.tagger_for(lang, "brill")
    tags = tagger.tag(words)
    assert len(tags) == len(words) and set(tags) <= UD_TAGS
    assert tags[-1] == "PUNCT" and tags[1] in ("NOUN", "PROPN")
    assert tagger.tag([]) == []


@pytest.mark.skipif("en" not in taggers.spacy_models(), reason="no English spaCy pipeline installed")
def test_spacy_tagger_uses_coarse_universal_tags():
    tagger = tagging.tagger_for("en", "spacy")
    assert tagger.tag(["The", "film", "was", "good", "."]) == ["DET", "NOUN", "AUX", "ADJ", "PUNCT"]
    assert list(tagger.tag_many([["Good", "fun"], ["Bad"]]))[1] in (["ADJ"], ["PROPN"], ["NOUN"])
    assert tagging.tagger_for("en", "spacy") is tagger  # loaded once


def test_best_tagger_prefers_spacy_then_brill():
    table = tagging.available_taggers()
    for lang, names in table.items():
        ordered = [n for n in tagging.PREFERENCE if n in names]
        assert names[: len(ordered)] == ordered
        assert tagging.best_tagger(lang) == names[0]
    assert tagging.best_tagger("sv") is None


def test_missing_tagger_errors_are_clear():
    with pytest.raises(ConfigError, match="no part-of-speech tagger for language 'sv'.*taggers exist for"):
        tagging.tagger_for("sv")
    with pytest.raises(UnknownPluginError, match="unknown tagger 'tnt'; available: .*brill"):
        tagging.tagger_for("en", "tnt")


def test_a_plugin_tagger_is_used_for_its_language(register_plugin):
    class Fake(kdtext.Tagger):
        """Tags every word X."""

        name = "fake"

        @classmethod
        def languages(cls):
            return ["xx"]

        def __init__(self, lang):
            self.lang = lang

        def tag(self, words):
            return ["X"] * len(words)

    class Plugin:
        @kdtext.hookimpl
        def register_taggers(self, register):
            register("fake", Fake)

    register_plugin(Plugin(), "fake-tagger-plugin")
    assert tagging.available_taggers()["xx"] == ["fake"]
    assert isinstance(tagging.tagger_for("xx"), Fake)
    tagging._instances.pop(("fake", "xx"), None)


@needs_brill
def test_taggers_command_lists_languages():
    result = CliRunner().invoke(cli, ["taggers"])
    assert result.exit_code == 0, result.output
    assert "brill (nl_alpino-ud-brill)" in result.output
    as_json = json.loads(CliRunner().invoke(cli, ["taggers", "--json"]).output)
    assert "brill" in as_json["de"]
