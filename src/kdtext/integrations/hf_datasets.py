"""kdtext's augmenters as a Hugging Face ``datasets`` map function.

::

    from datasets import load_dataset
    from kdtext.integrations.hf_datasets import augmenter

    train = load_dataset("rotten_tomatoes", split="train")
    synthetic = train.map(augmenter("tang", n_per_text=4, seed=0), batched=True)

``Dataset.map(fn, batched=True)`` lets ``fn`` return more rows than it was given, as long
as every column comes back with the new length: the function returns up to ``n_per_text``
rows per input row (fewer for a text of under two tokens, or one whose rounds give no more
distinct examples; see :mod:`kdtext.integrations.batches`), every column other than
``text_column`` copied from the row it came from. So drop columns computed from the text
(``input_ids`` from an earlier tokenizer pass) before ``map``, or ask for them again with
``teacher_ids``. With ``keep_original=True`` each input row comes first, then its new rows.

The same dataset, seed and parameters give the same rows, with or without streaming
(``IterableDataset.map`` takes the same function), with any ``num_proc``, and whether
``datasets`` reuses its cache or not: a text's new rows depend on the text, the seed and
the parameters only. ``pos`` and ``tang`` are the exception: their replacement words come
from the words of the same ``map`` batch, so they also depend on ``batch_size`` (and on
which rows share a batch). The function pickles as its settings alone, so ``datasets``
fingerprints it, and ``num_proc`` workers rebuild the tokenizer for themselves.

Installed with ``pip install 'kdtext[datasets]'``; kdtext itself does not import ``datasets``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .streams import TextAugmenter

if TYPE_CHECKING:
    from .streams import AugmentedRows

__all__ = ["DatasetAugmenter", "augmenter"]


def augmenter(
    name: str,
    *,
    n_per_text: int,
    seed: int = 0,
    lang: str = "en",
    tagger: str = "auto",
    text_column: str = "text",
    keep_original: bool = False,
    teacher_ids: Any = None,
    **params: Any,
) -> "DatasetAugmenter":
    """The function for ``Dataset.map(fn, batched=True)`` (see the module docstring).

    ``name``: any registered kdtext augmenter (``mask``, ``pos``, ``ngram``, ``sentence``,
    ``tang``, or a plugin's); ``params``: its parameters (``p_mask=0.2``, ...), checked
    here. ``tagger``: the POS tagger for ``pos`` and ``tang`` (``"auto"``: the best one for
    ``lang``; ``"brill"`` is 5x faster than spaCy's English tagger). ``teacher_ids``: a
    Hugging Face fast tokenizer; every row then also gets the columns that ``tokenizer(text)`` gives (``input_ids``, ``attention_mask``, and
    ``token_type_ids`` where the tokenizer makes them; no padding or truncation), the new
    rows' ids built from kdtext's word arrays without tokenizing their texts
    (:func:`kdtext.default_plugins.bert.teacher_ids.teacher_ids`, the ``bert`` teacher's own).
    """
    settings = dict(
        name=name, n_per_text=n_per_text, seed=seed, lang=lang, tagger=tagger, text_column=text_column,
        keep_original=keep_original, teacher_ids=teacher_ids, params=dict(params),
    )  # fmt: skip
    return DatasetAugmenter(settings)


class DatasetAugmenter:
    """A picklable ``batch -> batch`` function, from the settings :func:`augmenter` gathers."""

    def __init__(self, settings: dict[str, Any]):
        from ..errors import ConfigError

        tokenizer = settings["teacher_ids"]
        if tokenizer is not None and not getattr(tokenizer, "is_fast", False):
            raise ConfigError("teacher_ids needs a Hugging Face *fast* tokenizer (AutoTokenizer.from_pretrained(..., use_fast=True))")
        self._settings = settings
        self.text_column = settings["text_column"]
        self.keep_original = bool(settings["keep_original"])
        self.tokenizer = tokenizer
        self.engine = TextAugmenter(
            settings["name"], n_per_text=settings["n_per_text"], seed=settings["seed"], lang=settings["lang"],
            tagger=settings["tagger"], **settings["params"],
        )  # fmt: skip

    # Pickled (by datasets' fingerprinting and by num_proc workers) as its settings alone:
    # the spaCy tokenizer and the tagger are rebuilt where it is unpickled.
    def __reduce__(self) -> tuple[Any, ...]:
        return (DatasetAugmenter, (self._settings,))

    def __repr__(self) -> str:
        s = self._settings
        return f"kdtext augmenter({s['name']!r}, n_per_text={s['n_per_text']}, seed={s['seed']}, lang={s['lang']!r})"

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        from ..errors import DataError

        if self.text_column not in batch:
            raise DataError(None, None, f"the batch has no column {self.text_column!r} (its columns: {', '.join(batch)})")
        texts = _as_list(batch[self.text_column])
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(None, None, f"column {self.text_column!r}: row {i + 1} of the batch is a {type(text).__name__}, not a string")
        rows = self.engine.rows(texts, keep_original=self.keep_original)
        source = rows.source.tolist()
        out: dict[str, list[Any]] = {}
        for column, values in batch.items():
            if column == self.text_column:
                out[column] = rows.texts
            else:
                values = _as_list(values)
                out[column] = [values[i] for i in source]
        if self.tokenizer is not None:
            out.update(self._teacher_columns(texts, rows))
        return out

    def _teacher_columns(self, texts: list[str], rows: "AugmentedRows") -> dict[str, list[list[int]]]:
        from ..default_plugins.bert.teacher_ids import teacher_ids

        ids: list[Any] = [None] * len(rows.texts)
        new_rows = np.flatnonzero(~rows.original).tolist()
        for row, row_ids in zip(new_rows, teacher_ids(rows.synthetic, self.tokenizer).tolist()):
            ids[row] = row_ids
        originals = np.flatnonzero(rows.original).tolist()
        if originals:
            encoded = self.tokenizer([texts[int(rows.source[r])] for r in originals])["input_ids"]
            for row, row_ids in zip(originals, encoded):
                ids[row] = list(row_ids)
        names = list(getattr(self.tokenizer, "model_input_names", ["input_ids", "attention_mask"]))
        columns: dict[str, list[list[int]]] = {"input_ids": ids}
        if "attention_mask" in names:
            columns["attention_mask"] = [[1] * len(r) for r in ids]
        if "token_type_ids" in names:
            columns["token_type_ids"] = [[0] * len(r) for r in ids]
        return columns


def _as_list(values: Any) -> list[Any]:
    """A batch column as a list (batches are lists, or arrays under ``with_format("numpy")``)."""
    return values if isinstance(values, list) else list(values)
