"""kdtext's augmenters in spaCy: the registry entries, what they yield, seeds per epoch, and a real ``spacy train``."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

spacy = pytest.importorskip("spacy")

from kdtext.errors import ConfigError  # noqa: E402
from kdtext.integrations import spacy_augmenters  # noqa: E402

NAMES = ["kdtext.mask.v1", "kdtext.pos.v1", "kdtext.ngram.v1", "kdtext.sentence.v1", "kdtext.tang.v1", "kdtext.augmenter.v1"]
TEXTS = [
    ("a wonderful, moving film with great acting and a clever script", "pos"),
    ("dull, slow and far too long for what it has to say", "neg"),
    ("I loved every minute of this warm and funny story", "pos"),
    ("the worst script I have seen this year, and the acting is no better", "neg"),
    ("funny, warm and clever from the first scene to the last one", "pos"),
    ("a boring mess with no ideas at all and a terrible ending", "neg"),
]


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, cwd="/")


def _example(nlp, text: str, label: str, **annotations):
    from spacy.tokens import Doc
    from spacy.training import Example

    reference = nlp.make_doc(text)
    if annotations:
        reference = Doc(nlp.vocab, words=[t.text for t in reference], spaces=[bool(t.whitespace_) for t in reference], **annotations)
    reference.cats = {"pos": float(label == "pos"), "neg": float(label == "neg")}
    return Example(nlp.make_doc(text), reference)


def _texts(examples) -> list[str]:
    return [eg.reference.text for eg in examples]


# -- the registry --------------------------------------------------------------------------------


def test_the_entry_points_resolve_in_a_fresh_process_without_importing_kdtext_first():
    code = textwrap.dedent(f"""
        import sys
        import spacy
        assert "kdtext" not in sys.modules
        for name in {NAMES!r}:
            func = spacy.registry.augmenters.get(name)
            print(name, func.__module__, func.__name__)
    """)
    result = _run(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(NAMES)
    for name, line in zip(NAMES, lines):
        registered, module, function = line.split()
        assert registered == name and module == "kdtext.integrations.spacy_augmenters"
        assert function == name.split(".")[1] + "_v1"


def test_the_spacy_module_imports_no_heavy_library():
    code = "import sys, kdtext.integrations.spacy_augmenters; print(sorted(m for m in ('torch', 'transformers', 'spacy', 'datasets', 'thinc') if m in sys.modules))"
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["mask", "pos", "ngram", "sentence", "tang"])
def test_each_entry_takes_its_augmenter_s_parameters_with_its_defaults(name):
    from kdtext.plugins import get_augmenter

    signature = inspect.signature(getattr(spacy_augmenters, f"{name}_v1"))
    own = {k: p.default for k, p in signature.parameters.items() if k not in ("n_per_example", "seed", "tagger")}
    assert own == get_augmenter(name).defaults
    assert signature.parameters["n_per_example"].default == 1 and signature.parameters["seed"].default == 0


def test_bad_parameters_are_refused_when_spacy_reads_the_config():
    with pytest.raises(ConfigError, match="p_mask must be a number between 0 and 1"):
        spacy_augmenters.tang_v1(p_mask=2.0)
    with pytest.raises(ConfigError, match="n_per_text must be a whole number of at least 1"):
        spacy_augmenters.mask_v1(n_per_example=0)
    with pytest.raises(Exception, match="unknown augmenter 'mask2'"):
        spacy_augmenters.augmenter_v1("mask2")


# -- what the augmenter yields -----------------------------------------------------------------


def test_it_yields_the_example_then_new_ones_with_its_cats_and_no_token_annotations():
    nlp = spacy.blank("en")
    text, label = TEXTS[3]
    tokens = [t.text for t in nlp.make_doc(text)]
    n = len(tokens)
    example = _example(nlp, text, label, tags=["NN"] * n, pos=["NOUN"] * n, lemmas=["x"] * n,
                       heads=list(range(n)), deps=["dep"] * n, ents=["B-ORG"] + ["O"] * (n - 1))  # fmt: skip
    out = list(spacy_augmenters.mask_v1(n_per_example=4, seed=0, p_mask=0.3)(nlp, example))
    assert out[0] is example
    assert 2 <= len(out) - 1 <= 4
    new = out[1:]
    assert len(set(_texts(new))) == len(new) and text not in _texts(new)
    for eg in new:
        assert eg.reference.cats == example.reference.cats
        for attr in ("TAG", "POS", "LEMMA", "DEP", "HEAD", "ENT_IOB", "MORPH"):
            assert not eg.reference.has_annotation(attr), attr
        words = [t.text for t in eg.reference]
        assert len(words) == n and all(w == o or w == "[MASK]" for w, o in zip(words, tokens))
        assert eg.predicted.text == eg.reference.text and eg.predicted.vocab is nlp.vocab
    assert example.reference.has_annotation("TAG")  # the original is untouched


def test_an_example_without_cats_is_yielded_alone():
    nlp = spacy.blank("en")
    example = _example(nlp, *TEXTS[0])
    example.reference.cats = {}
    assert list(spacy_augmenters.tang_v1(n_per_example=3)(nlp, example)) == [example]


def test_reproducible_for_a_seed_and_new_every_epoch():
    nlp = spacy.blank("en")
    examples = [_example(nlp, t, label) for t, label in TEXTS]

    def epochs(seed: int, k: int = 3) -> list[list[str]]:
        augment = spacy_augmenters.tang_v1(n_per_example=3, seed=seed, p_mask=0.2, p_ng=0.3)
        return [[text for eg in examples for text in _texts(augment(nlp, eg))] for _ in range(k)]

    first = epochs(0)
    assert first == epochs(0)  # the same config and seed: the same examples, epoch after epoch
    assert first[0] != first[1] and first[1] != first[2]  # max_epochs = -1: a new draw each epoch
    assert first != epochs(1)
    # an example's new texts depend on its own text and sightings, not on the examples before it
    after_others = spacy_augmenters.mask_v1(n_per_example=3, p_mask=0.2)
    for example in examples[:4]:
        list(after_others(nlp, example))
    alone = spacy_augmenters.mask_v1(n_per_example=3, p_mask=0.2)
    assert _texts(after_others(nlp, examples[4])) == _texts(alone(nlp, examples[4]))


def test_the_language_comes_from_nlp_and_pos_draws_words_the_augmenter_has_seen():
    nlp = spacy.blank("en")
    augment = spacy_augmenters.pos_v1(n_per_example=5, p_pos=0.5)
    seen: set[str] = set()
    for text, label in TEXTS:
        seen.update(t.text for t in nlp.make_doc(text))
        for eg in list(augment(nlp, _example(nlp, text, label)))[1:]:
            assert {t.text for t in eg.reference} <= seen  # same-POS words come from texts already seen
    assert augment._corpus.lang == "en" and augment._corpus.tagger is not None
    brill = spacy_augmenters.pos_v1(n_per_example=2, tagger="brill")
    list(brill(nlp, _example(nlp, *TEXTS[0])))
    assert brill._corpus.tagger.name == "brill"
    with pytest.raises(ConfigError, match="no part-of-speech tagger for language 'sv'"):
        list(spacy_augmenters.pos_v1()(spacy.blank("sv"), _example(spacy.blank("sv"), "en lång och tråkig film", "neg")))
    # tang runs without a tagger: masks and n-grams only
    sv = spacy.blank("sv")
    out = list(spacy_augmenters.tang_v1(n_per_example=3, p_mask=0.3)(sv, _example(sv, "en lång och tråkig film om ingenting alls", "neg")))
    assert len(out) > 1 and all(eg.reference.lang_ == "sv" for eg in out)


def test_augmenter_v1_runs_a_plugin_augmenter_with_its_params(register_plugin):
    import kdtext
    from kdtext.augment import SyntheticSet

    class Reverse(kdtext.Augmenter):
        name = "reverse-words"
        defaults = {"max_words": 10}

        def augment(self, corpus, n, *, seed=0):
            rows = [list(reversed(corpus.doc_word_ids(i)))[: self.params["max_words"]] for i in range(min(n, corpus.n_docs))]
            return SyntheticSet.from_word_ids(corpus, rows, sources=range(len(rows)), augmenter=self.name)

    class Plugin:
        @kdtext.hookimpl
        def register_augmenters(self, register):
            register("reverse-words", Reverse)

    register_plugin(Plugin(), "reverse-words-plugin")
    nlp = spacy.blank("en")
    out = list(spacy_augmenters.augmenter_v1("reverse-words", n_per_example=2, params={"max_words": 2})(nlp, _example(nlp, "one two three", "pos")))
    assert _texts(out) == ["one two three", "three two"]
    assert out[1].reference.cats == {"pos": 1.0, "neg": 0.0}
    with pytest.raises(ConfigError, match="max_word"):
        spacy_augmenters.augmenter_v1("reverse-words", params={"max_word": 2})


# -- a real `spacy train` ------------------------------------------------------------------------

def test_spacy_train_runs_with_a_kdtext_augmenter_in_its_config(tmp_path: Path):
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    for name, rows in (("train", TEXTS), ("dev", TEXTS[:2])):
        docs = DocBin()
        for text, label in rows:
            doc = nlp.make_doc(text)
            doc.cats = {"pos": float(label == "pos"), "neg": float(label == "neg")}
            docs.add(doc)
        docs.to_disk(tmp_path / f"{name}.spacy")
    from spacy.cli.init_config import init_config

    config = init_config(lang="en", pipeline=["textcat"], optimize="efficiency")  # spaCy's own, a bag of words
    config["corpora"]["train"]["augmenter"] = {"@augmenters": "kdtext.tang.v1", "n_per_example": 2, "seed": 0, "p_mask": 0.2}
    config["training"].update({"max_epochs": -1, "max_steps": 24, "eval_frequency": 1})
    config["training"]["batcher"] = {"@batchers": "spacy.batch_by_sequence.v1", "size": 1, "get_length": None}
    config.to_disk(tmp_path / "config.cfg")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "train", "config.cfg", "--output", "out",
         "--paths.train", "train.spacy", "--paths.dev", "dev.spacy"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    steps = [tuple(map(int, m.groups())) for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+[\d.]+\s", result.stdout, re.M)]
    per_epoch = {epoch: sum(1 for e, _ in steps if e == epoch) for epoch, _ in steps}
    # one example per step: each of the 6 texts and its 2 new examples in the first epoch
    assert per_epoch[0] == len(TEXTS) * 3, result.stdout
    assert per_epoch.get(1, 0) > 0 and max(s for _, s in steps) == 24
    assert spacy.load(tmp_path / "out" / "model-last").pipe_names == ["textcat"]
