"""Built-in augmenters: ``mask``, ``pos``, ``ngram``, ``sentence`` and ``tang`` (all of them combined).

They follow Tang et al. (2019), "Distilling Task-Specific Knowledge from BERT into Simple
Neural Networks", and run on the compiled kernels of :mod:`kdtext._fast`. Parameters
(shared names, Tang et al.'s defaults):

``p_mask`` (0.1)
    probability that a word becomes the mask token;
``p_pos`` (0.1)
    probability that a word is replaced by a word of the same part of speech, drawn in
    proportion to its frequency in the corpus (mutually exclusive with masking);
``p_ng`` (0.25)
    probability that an example is cut down to a random n-gram of its words;
``n_min``, ``n_max`` (1, 5)
    range of the n-gram length, in tokens;
``n_iter`` (20)
    rounds: the most examples one source text gives;
``mask_token`` ("[MASK]")
    the mask; pass the teacher's own (``Teacher.mask_token``) where it has one;
``unique`` (true)
    drop duplicate examples and exact copies of source texts.

Every augmenter returns at most ``n`` examples for ``augment(corpus, n, seed=)``; see
:mod:`kdtext.augment` for the round structure and the seeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterator

from ..base import Augmenter
from ..errors import ConfigError
from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..augment import SyntheticSet
    from ..augment.corpus import TokenizedCorpus

# Kernel mode flags, repeated here so that importing this module stays light;
# tests check they equal kdtext._fast.MODE_*.
MODE_MASK, MODE_POS, MODE_NGRAM, MODE_SENTENCE = 1, 2, 4, 8

_PROBABILITIES = ("p_mask", "p_pos", "p_ng")
_COUNTS = ("n_min", "n_max", "n_iter")


class KernelAugmenter(Augmenter):
    """Shared parameter checks and the call into the kernels; subclasses set ``mode``."""

    mode: ClassVar[int] = 0
    #: Whether the corpus must carry POS tags (a missing tagger is then an error).
    requires_tags: ClassVar[bool] = False
    #: The kernels make each document's examples from that document alone: shards merge.
    shardable: ClassVar[bool] = True
    #: The kernels seed document ``d`` from ``corpus.doc_keys[d]`` when the corpus has keys.
    uses_doc_keys: ClassVar[bool] = True

    def __init__(self, **params: Any):
        super().__init__(**params)
        p = self.params
        for name in _PROBABILITIES:
            if name in p:
                value = p[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                    raise ConfigError(f"augmenter {self.name!r}: {name} must be a number between 0 and 1, got {value!r}")
                p[name] = float(value)
        for name in _COUNTS:
            if name in p:
                value = p[name]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"augmenter {self.name!r}: {name} must be a whole number of at least 1, got {value!r}")
        if p.get("n_min", 1) > p.get("n_max", 1):
            raise ConfigError(f"augmenter {self.name!r}: n_min ({p['n_min']}) is larger than n_max ({p['n_max']})")
        if p.get("p_mask", 0.0) + p.get("p_pos", 0.0) > 1.0:
            raise ConfigError(f"augmenter {self.name!r}: p_mask + p_pos must be at most 1")
        if "mask_token" in p and (not isinstance(p["mask_token"], str) or not p["mask_token"] or p["mask_token"] != p["mask_token"].strip()):
            raise ConfigError(f"augmenter {self.name!r}: mask_token must be a non-empty string without spaces, got {p['mask_token']!r}")
        if "unique" in p and not isinstance(p["unique"], bool):
            raise ConfigError(f"augmenter {self.name!r}: unique must be true or false, got {p['unique']!r}")

    @property
    def needs_tags(self) -> bool:
        """Whether this configuration uses POS tags at all."""
        return bool(self.mode & MODE_POS) and self.params.get("p_pos", 0.0) > 0.0

    @property
    def needs_sentences(self) -> bool:
        """Only ``sentence`` reads sentence starts."""
        return bool(self.mode & MODE_SENTENCE)

    def kernel_args(self, corpus: "TokenizedCorpus") -> tuple[int, dict[str, Any], list[str]]:
        """(mode, keyword arguments of ``run_kernel``, notes) for ``corpus``."""
        return self.mode, {k: v for k, v in self.params.items()}, []

    def augment(self, corpus: "TokenizedCorpus", n: int | None, *, seed: int = 0) -> "SyntheticSet":
        from ..augment import SyntheticSet

        return SyntheticSet.concat(list(self.augment_parts(corpus, n, seed=seed)))

    def augment_parts(self, corpus: "TokenizedCorpus", n: int | None, *, seed: int = 0) -> Iterator["SyntheticSet"]:
        """The examples of :meth:`augment`, one kernel round at a time (see :func:`kdtext.augment.kernels.kernel_parts`)."""
        from ..augment.kernels import kernel_parts

        mode, kwargs, notes = self.kernel_args(corpus)
        for i, part in enumerate(kernel_parts(corpus, n, seed=seed, mode=mode, augmenter=self.name, params=dict(self.params), **kwargs)):
            if i == 0:
                part.notes = notes + part.notes
            yield part


class MaskAugmenter(KernelAugmenter):
    """Replace each word with the mask token with probability p_mask."""

    name = "mask"
    mode = MODE_MASK
    defaults: ClassVar[dict[str, Any]] = {"p_mask": 0.1, "mask_token": "[MASK]", "n_iter": 20, "unique": True}


class PosAugmenter(KernelAugmenter):
    """Replace each word, with probability p_pos, by a corpus word of the same part of speech."""

    name = "pos"
    mode = MODE_POS
    requires_tags = True
    defaults: ClassVar[dict[str, Any]] = {"p_pos": 0.1, "n_iter": 20, "unique": True}


class NgramAugmenter(KernelAugmenter):
    """A random contiguous n-gram of each text, n from n_min to n_max."""

    name = "ngram"
    mode = MODE_NGRAM
    defaults: ClassVar[dict[str, Any]] = {"n_min": 1, "n_max": 5, "n_iter": 20, "unique": True}

    def kernel_args(self, corpus: "TokenizedCorpus") -> tuple[int, dict[str, Any], list[str]]:
        return self.mode, {**self.params, "p_ng": 1.0}, []


class SentenceAugmenter(KernelAugmenter):
    """A random whole sentence of each text of two sentences or more."""

    name = "sentence"
    mode = MODE_SENTENCE
    defaults: ClassVar[dict[str, Any]] = {"n_iter": 20, "unique": True}


class TangAugmenter(KernelAugmenter):
    """Tang et al.'s procedure: mask / same-POS swap per word, then an n-gram with probability p_ng."""

    name = "tang"
    mode = MODE_MASK | MODE_POS | MODE_NGRAM
    defaults: ClassVar[dict[str, Any]] = {
        "p_mask": 0.1,
        "p_pos": 0.1,
        "p_ng": 0.25,
        "n_min": 1,
        "n_max": 5,
        "n_iter": 20,
        "mask_token": "[MASK]",
        "unique": True,
    }

    def kernel_args(self, corpus: "TokenizedCorpus") -> tuple[int, dict[str, Any], list[str]]:
        mode, kwargs = self.mode, dict(self.params)
        notes: list[str] = []
        if not corpus.tagged:  # p_pos = 0 needs no tags (needs_tags is False, so none were made)
            mode &= ~MODE_POS
        if kwargs["p_pos"] > 0 and not corpus.tagged:
            notes.append(
                f"no part-of-speech tagger for language {corpus.lang!r}: same-POS replacement is off "
                "(masking and n-grams still run; see `kdtext taggers`)"
            )
        return mode, kwargs, notes


@hookimpl
def register_augmenters(register):
    register("mask", MaskAugmenter)
    register("pos", PosAugmenter)
    register("ngram", NgramAugmenter)
    register("sentence", SentenceAugmenter)
    register("tang", TangAugmenter)
