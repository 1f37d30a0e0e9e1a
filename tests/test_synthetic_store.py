"""Synthetic sets made part by part and written to disk as they come: the same set as in memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdtext.augment import SyntheticSet, make_augmenter
from kdtext.augment.builder import corpus_from_texts
from kdtext.augment.corpus import TokenizedCorpus
from kdtext.augment.store import SyntheticWriter, load_synthetic
from kdtext.errors import KdtextError

TEXTS = [f"the film number {i} was long , slow and oddly moving in its last act" for i in range(30)] + [
    "Short one. Two sentences here!", "x", "", "A gripping, well-acted thriller that never lets go of you."
]  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> TokenizedCorpus:
    return corpus_from_texts(TEXTS, lang="en", tagger="brill")


def same(a: SyntheticSet, b: SyntheticSet) -> None:
    assert a.vocab == b.vocab and len(a) == len(b)
    for name in ("words", "spaces", "offsets", "source", "rounds"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.augmenter, a.seed, a.params, a.skipped, a.notes) == (b.augmenter, b.seed, b.params, b.skipped, b.notes)


@pytest.mark.parametrize("name,n", [("tang", 200), ("mask", 10_000), ("sentence", None), ("ngram", 0)])
def test_parts_join_into_the_set_augment_gives(corpus, name, n):
    augmenter = make_augmenter(name, n_iter=5)
    parts = list(augmenter.augment_parts(corpus, n, seed=3))
    same(SyntheticSet.concat(parts), augmenter.augment(corpus, n, seed=3))
    if name == "mask":
        assert len(parts) == 6 and "made" in parts[-1].notes[0]  # five rounds, then the note that n was not reached
    assert sum(p.skipped.get("empty", 0) for p in parts) == 1  # counted once, not once per round


def test_a_folder_written_part_by_part_is_the_joined_set(tmp_path, corpus):
    parts = [
        *make_augmenter("ngram", n_iter=3).augment_parts(corpus, None, seed=1),  # the corpus vocabulary
        *make_augmenter("tang", n_iter=4).augment_parts(corpus, 150, seed=2),  # that vocabulary + [MASK]
        *make_augmenter("mask", mask_token="<mask>", n_iter=2).augment_parts(corpus, None, seed=3),  # + <mask>
    ]
    assert len({id(p.vocab) for p in parts}) == 3
    with SyntheticWriter(tmp_path / "set") as writer:
        for part in parts:
            writer.add(part)
    loaded = load_synthetic(tmp_path / "set")
    same(loaded, SyntheticSet.concat(parts))
    assert isinstance(loaded.words.base, np.memmap) and loaded.vocab[-2:] == ["[MASK]", "<mask>"]  # read off the file
    assert loaded.texts() == [t for p in parts for t in p.texts()]
    meta = json.loads((tmp_path / "set" / "meta.json").read_text())
    assert meta["examples"] == len(loaded) and not list((tmp_path / "set").glob("*.part"))


def test_reset_drops_what_was_written_and_an_error_leaves_no_finished_folder(tmp_path, corpus):
    part = make_augmenter("mask", n_iter=2).augment(corpus, None, seed=0)
    with SyntheticWriter(tmp_path / "set") as writer:
        writer.add(part)
        writer.reset()
        writer.add(part.subset([0, 1, 2]))
    same(load_synthetic(tmp_path / "set"), part.subset([0, 1, 2]))
    with pytest.raises(RuntimeError), SyntheticWriter(tmp_path / "broken") as writer:
        writer.add(part)
        raise RuntimeError("interrupted")
    with pytest.raises(KdtextError, match="not a finished synthetic set"):
        load_synthetic(tmp_path / "broken")


def test_a_damaged_folder_is_one_clear_error(tmp_path, corpus):
    with SyntheticWriter(tmp_path / "set") as writer:
        writer.add(make_augmenter("mask", n_iter=2).augment(corpus, None, seed=0))
    words = tmp_path / "set" / "words.bin"
    words.write_bytes(words.read_bytes()[:-4])
    with pytest.raises(KdtextError, match="array sizes disagree"):
        load_synthetic(tmp_path / "set")
    words.write_bytes(words.read_bytes()[:-1])
    with pytest.raises(KdtextError, match="partial element"):
        load_synthetic(tmp_path / "set")


def test_augment_n_into_a_sink_gives_the_set_it_returns(tmp_path, corpus):
    from kdtext.augment.rounds import augment_n

    # 30 texts cannot give 1,500 distinct mask examples in the planned rounds: more rounds are tried
    for name, n in (("mask", 1_500), ("tang", 400)):
        expected, _ = augment_n(corpus, name, {}, n, seed=5)
        with SyntheticWriter(tmp_path / name) as writer:
            returned, _ = augment_n(corpus, name, {}, n, seed=5, sink=writer)
        assert returned is None and writer.examples == len(expected)
        same(load_synthetic(tmp_path / name), expected)
