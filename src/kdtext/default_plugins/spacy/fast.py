"""``spacy-fast``: a spaCy text classifier built for distillation: fast to run, quick to train.

Where the time goes in ``spacy-cnn`` (``nlp.pipe``, one thread, profiled with
``benchmarks/students_rt.py --profile``): over 60% of the model's time is spent in the
matrix products of its Maxout layers, the one that mixes five hash-embedding tables
(NORM, LOWER, PREFIX, SUFFIX, SHAPE) at width 64 and the two convolution layers. This
student keeps what carries the teacher's knowledge, the teacher's static word vectors,
with two narrower hash-embedding tables for words outside them, and spends its few
matrix products where they pay:

* ``attrs`` hash-embedding tables (default ``NORM`` and ``SUFFIX``), ``embed_size`` rows,
  ``width`` wide (48), plus the static word vectors when the student gets them;
* ``depth`` window-convolution layers of ``window_size`` (default one layer, one word
  each side: enough for "not good"; at least one);
* a ``pooling`` head: ``"ensemble"`` (the default: ``spacy.TextCatEnsemble.v2`` with a
  bag-of-words model, as ``spacy-cnn``), ``"reduce"`` (mean and max over the words into
  the output layer, ``spacy.TextCatReduce.v1``) or ``"attention"`` (spaCy's parametric
  attention with a residual hidden layer).

Every layer is one of spaCy's own registered architectures, so the saved pipeline loads
with spaCy alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...errors import ConfigError
from .student import SpacyStudent, _bow_config

#: Token attributes a hash-embedding table can be built on (spaCy attribute names).
ATTRS = ("NORM", "LOWER", "ORTH", "PREFIX", "SUFFIX", "SHAPE")
POOLINGS = ("reduce", "attention", "ensemble")
#: Token encoders: spaCy's window convolution, or thinc's bidirectional LSTM (numpy, no PyTorch)
#: over the embeddings, as Tang et al.'s BiLSTM student; ``window+lstm`` runs one after the other.
ENCODERS = ("window", "lstm", "window+lstm")


class SpacyFastStudent(SpacyStudent):
    """Static teacher vectors + hash embeddings, a light convolution and a pooling head.

    Architecture parameters: ``width`` (48), ``depth`` (window-convolution layers, 1),
    ``window_size`` (1), ``maxout_pieces`` (2), ``embed_size`` (rows of each
    hash-embedding table, 5000), ``attrs`` (comma-separated token attributes with a
    table each, ``"NORM,SUFFIX"``), ``pooling`` (``reduce``, ``attention`` or
    ``ensemble``; ``ensemble``), ``encoder`` (``window``: the convolution; ``lstm``: thinc's
    bidirectional LSTM of ``depth`` layers, a layer of ``registry.layers`` that runs on numpy, so
    the saved pipeline still needs spaCy alone; ``window+lstm``: the convolution, then one
    BiLSTM layer), ``ngram_size`` and ``bow_length`` (the bag-of-words half
    of ``ensemble`` only), ``vectors`` (static word vectors, set by ``kdtext run``).
    Training defaults differ from ``spacy-cnn``'s: ``batch_size`` 128, ``learn_rate``
    0.002, ``eval_every`` 200, ``patience`` 5. The defaults are the best trade-off of
    dev accuracy and speed in ``benchmarks/students_rt.py`` (see benchmarks/RESULTS.md).
    """

    name: ClassVar[str] = "spacy-fast"
    model_defaults: ClassVar[dict[str, Any]] = {
        "width": 48,
        "depth": 1,
        "window_size": 1,
        "maxout_pieces": 2,
        "embed_size": 5000,
        "attrs": "NORM,SUFFIX",
        "pooling": "ensemble",
        "encoder": "window",
        "ngram_size": 1,
        "bow_length": 262144,
        "vectors": None,
        # a shorter schedule than spacy-cnn's: larger batches, fewer evaluations
        "batch_size": 128,
        "learn_rate": 0.002,
        "eval_every": 200,
        "patience": 5,
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        attrs = self.params["attrs"]
        names = [a.strip().upper() for a in attrs.split(",") if a.strip()] if isinstance(attrs, str) else []
        bad = [a for a in names if a not in ATTRS]
        if not names or bad:
            raise ConfigError(
                f"student {self.name!r}: parameter 'attrs' must be comma-separated token attributes "
                f"from {', '.join(ATTRS)}, got {attrs!r}"
            )
        self.params["attrs"] = ",".join(names)
        if self.params["depth"] < 1:
            # spaCy's window encoder needs a layer; without one the static-vector layer
            # takes its width from the labels at initialisation and fails
            raise ConfigError(f"student {self.name!r}: parameter 'depth' must be at least 1, got {self.params['depth']!r}")
        if self.params["encoder"] not in ENCODERS:
            raise ConfigError(
                f"student {self.name!r}: parameter 'encoder' must be one of {', '.join(ENCODERS)}, got {self.params['encoder']!r}"
            )
        if "lstm" in self.params["encoder"] and self.params["width"] % 2:
            raise ConfigError(f"student {self.name!r}: a BiLSTM encoder needs an even 'width', got {self.params['width']!r}")
        if self.params["pooling"] not in POOLINGS:
            raise ConfigError(
                f"student {self.name!r}: parameter 'pooling' must be one of {', '.join(POOLINGS)}, got {self.params['pooling']!r}"
            )

    def model_config(self, multilabel: bool) -> dict[str, Any]:
        p = self.params
        attrs = p["attrs"].split(",")
        embed = {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": p["width"],
            "rows": [p["embed_size"]] * len(attrs),
            "attrs": attrs,
            "include_static_vectors": bool(p.get("vectors")),
        }
        window = {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": p["width"],
            "window_size": p["window_size"],
            "maxout_pieces": p["maxout_pieces"],
            "depth": p["depth"],
        }
        lstm = {
            "@layers": "with_padded.v1",
            "layer": {
                "@layers": "LSTM.v1",
                "nO": p["width"],
                "nI": p["width"],
                "bi": True,
                "depth": 1 if p["encoder"] == "window+lstm" else p["depth"],
                "dropout": 0.0,
            },
        }
        if p["encoder"] == "window":
            encode = window
        elif p["encoder"] == "lstm":
            encode = lstm
        else:
            encode = {"@layers": "chain.v1", "*": {"window": window, "lstm": lstm}}
        tok2vec = {"@architectures": "spacy.Tok2Vec.v2", "embed": embed, "encode": encode}
        if p["pooling"] == "ensemble":
            return {
                "@architectures": "spacy.TextCatEnsemble.v2",
                "tok2vec": tok2vec,
                "linear_model": _bow_config(not multilabel, p["ngram_size"], p["bow_length"]),
            }
        if p["pooling"] == "attention":
            return {"@architectures": "spacy.TextCatParametricAttention.v1", "tok2vec": tok2vec, "exclusive_classes": not multilabel}
        return {
            "@architectures": "spacy.TextCatReduce.v1",
            "tok2vec": tok2vec,
            "exclusive_classes": not multilabel,
            "use_reduce_first": False,
            "use_reduce_last": False,
            "use_reduce_max": True,
            "use_reduce_mean": True,
        }
