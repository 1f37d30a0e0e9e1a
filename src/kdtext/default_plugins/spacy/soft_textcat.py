"""A spaCy text categorizer that trains on soft targets: probabilities in [0, 1].

spaCy 3.8's ``textcat`` and ``textcat_multilabel`` refuse ``cats`` values other than 0
and 1 while training (error E851), although their loss (the difference between scores
and targets) works with probabilities. :class:`SoftTextCategorizer` accepts any value in
[0, 1], for single-label (softmax, rows summing to 1) and multi-label (sigmoid) tasks.

It is registered as the spaCy factory ``kdtext_soft_textcat``, both here (with
``Language.factory``) and through the ``spacy_factories`` entry point of the kdtext
distribution, so pipelines saved by earlier kdtext versions load with plain
``spacy.load(path)`` wherever kdtext is installed.

Losses (the factory's ``loss`` setting):

``"mse"`` (default)
    spaCy's own textcat loss: ``scores - targets`` as gradient, the mean squared error
    as reported loss. This is what the reference experiment used.
``"kl"``
    Hinton-style distillation: KL divergence between target and student distributions,
    both softened with ``temperature`` (probabilities are turned back into logits up to
    a constant, so probabilities from a teacher are enough), scaled by ``temperature**2``.
    Rows that are exactly 0/1 (gold examples) are trained at temperature 1.
``"logits"``
    Tang et al.'s loss: squared error between the student's and the teacher's logits
    (recovered from the probabilities), cross-entropy on gold rows.

Example weights: an example whose reference Doc has ``user_data[WEIGHT_KEY]`` counts that
many times in the loss and its gradient (kdtext sets them to rebalance rare classes, see
:func:`class_balance_weights`); without it, an example counts once.

Only training uses this component: a saved student names spaCy's stock ``textcat`` (or
``textcat_multilabel``) factory instead (:func:`stock_config`), so it loads and runs
where spaCy alone is installed.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Callable, Iterable

import numpy
from spacy.language import Language
from spacy.pipeline.textcat import DEFAULT_SINGLE_TEXTCAT_MODEL, TextCategorizer, textcat_score
from spacy.pipeline.textcat_multilabel import textcat_multilabel_score
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model

from ...errors import ConfigError, DataError

FACTORY_NAME = "kdtext_soft_textcat"
LOSSES = ("mse", "kl", "logits")
#: Probabilities are clipped to [EPS, 1 - EPS] before logs and divisions.
EPS = 1e-6
#: Teacher probabilities are clipped to [LOGIT_EPS, 1 - LOGIT_EPS] before they become logit
#: targets, so a rounded 0 in a soft row asks for a logit of about -9, not -14.
LOGIT_EPS = 1e-4
#: Tolerance for single-label target rows that must sum to 1.
SUM_TOLERANCE = 1e-3
#: Key of a training example's weight in its reference Doc's ``user_data``.
WEIGHT_KEY = "kdtext_weight"
#: Largest class weight :func:`class_balance_weights` gives, so a class seen a handful of
#: times cannot take over training.
MAX_CLASS_WEIGHT = 10.0


class SoftTextCategorizer(TextCategorizer):
    """Text categorizer whose training targets may be any probabilities in [0, 1].

    ``multilabel=False``: one softmax over the labels, each target row sums to 1.
    ``multilabel=True``: an independent sigmoid per label, ``threshold`` decides labels.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "textcat",
        *,
        multilabel: bool = False,
        threshold: float = 0.5,
        loss: str = "mse",
        temperature: float = 1.0,
        scorer: Callable | None = None,
    ) -> None:
        if loss not in LOSSES:
            raise ConfigError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        if not temperature > 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        if scorer is None:
            scorer = textcat_multilabel_score if multilabel else textcat_score
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        self.multilabel = bool(multilabel)
        self.loss = loss
        self.temperature = float(temperature)
        self._output_space: str | None = None

    @property
    def support_missing_values(self) -> bool:
        # kdtext always gives a full target row; an absent label is a bug, not "unknown".
        return False

    def initialize(  # type: ignore[override]
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
        labels: Iterable[str] | None = None,
        positive_label: str | None = None,
    ) -> None:
        """Add the labels (given, or read from the examples) and initialise the model."""
        validate_get_examples(get_examples, "SoftTextCategorizer.initialize")
        if labels is None:
            for example in get_examples():
                for cat in example.y.cats:
                    self.add_label(cat)
        else:
            for label in labels:
                self.add_label(label)
        if not self.multilabel and len(self.labels) < 2:
            raise ConfigError(f"a single-label text categorizer needs at least two labels, got {list(self.labels)}")
        self.cfg["positive_label"] = positive_label
        subbatch = list(islice(get_examples(), 10))
        if not subbatch:
            raise ConfigError(f"component {self.name!r} needs at least one example to initialise")
        self._validate_categories(subbatch)
        label_sample, _ = self._examples_to_truth(subbatch)
        self._require_labels()
        self.model.initialize(X=[eg.reference for eg in subbatch], Y=label_sample)

    def _validate_categories(self, examples: Iterable[Example]) -> None:
        """Targets must be finite, in [0, 1], and sum to 1 for a single-label task."""
        for example in examples:
            values = list(example.reference.cats.values())
            for value in values:
                if not (0.0 <= value <= 1.0):  # also false for NaN
                    raise DataError(None, None, f"target {value!r} is outside [0, 1] in {example.reference.text[:60]!r}")
            if not self.multilabel and values and abs(sum(values) - 1.0) > SUM_TOLERANCE:
                raise DataError(
                    None, None, f"targets sum to {sum(values):.4f}, not 1, in a single-label task: {example.reference.text[:60]!r}"
                )

    def _examples_to_truth(self, examples: Iterable[Example]) -> tuple[numpy.ndarray, numpy.ndarray]:
        examples = list(examples)
        truths = numpy.zeros((len(examples), len(self.labels)), dtype="f")
        labels = self.labels
        for i, example in enumerate(examples):
            cats = example.reference.cats
            for j, label in enumerate(labels):
                value = cats.get(label)
                if value is not None:
                    truths[i, j] = value
        return self.model.ops.asarray(truths), numpy.ones_like(truths)  # type: ignore[return-value]

    def get_loss(self, examples: Iterable[Example], scores: Any) -> tuple[float, Any]:
        """Loss and gradient of the scores for a batch (see the module docstring)."""
        validate_examples(examples, "SoftTextCategorizer.get_loss")
        examples = list(examples)
        truths, _ = self._examples_to_truth(examples)
        if self.loss == "mse":
            d_scores = scores - truths
            value = float((d_scores**2).mean())
        elif self.loss == "logits":
            value, d_scores = self._logit_loss(scores, truths)
        else:
            value, d_scores = self._kl_loss(scores, truths)
        weights = [example.reference.user_data.get(WEIGHT_KEY, 1.0) for example in examples]
        if any(w != 1.0 for w in weights):
            column = self.model.ops.asarray(numpy.asarray(weights, dtype="f")[:, None])
            d_scores = (d_scores * column).astype("f")
            value *= float(numpy.mean(weights))
        return value, d_scores

    def _output_gradient_space(self) -> str:
        """How the output layer treats the gradient it receives.

        thinc's ``Softmax`` layer (the ensemble's output) takes the gradient of the
        *logits* (it assumes a cross-entropy loss); ``softmax_activation`` (bag-of-words)
        and ``Logistic`` (multi-label) apply their Jacobian to a gradient of the
        *probabilities*. The KL gradient is computed for logits and converted.
        """
        if self._output_space is None:
            if self.multilabel:
                self._output_space = "sigmoid"
            else:
                last = self.model
                while last.layers and last.name not in ("softmax", "softmax_activation"):
                    last = last.layers[-1]
                self._output_space = "logits" if last.name == "softmax" else "softmax"
        return self._output_space

    def _kl_loss(self, scores: Any, truths: Any) -> tuple[float, Any]:
        xp = self.model.ops.xp
        temperature = self.temperature
        probs = xp.clip(scores, EPS, 1.0 - EPS)
        targets = xp.clip(truths, EPS, 1.0 - EPS)
        hard = xp.all((truths == 0.0) | (truths == 1.0), axis=1, keepdims=True)
        t = xp.where(hard, 1.0, temperature).astype("f")
        if self.multilabel:
            student = 1.0 / (1.0 + xp.exp(-xp.log(probs / (1.0 - probs)) / t))
            teacher = 1.0 / (1.0 + xp.exp(-xp.log(targets / (1.0 - targets)) / t))
            s = xp.clip(student, EPS, 1.0 - EPS)
            r = xp.clip(teacher, EPS, 1.0 - EPS)
            loss = r * xp.log(r / s) + (1.0 - r) * xp.log((1.0 - r) / (1.0 - s))
        else:
            student = _softmax(xp, xp.log(probs) / t)
            teacher = _softmax(xp, xp.log(targets) / t)
            loss = teacher * (xp.log(xp.clip(teacher, EPS, 1.0)) - xp.log(xp.clip(student, EPS, 1.0)))
        # d(T^2 * KL)/d logits = T * (student_T - teacher_T)
        d_logits = (t * (student - teacher)).astype("f")
        value = float(((t * t) * loss).sum(axis=1).mean())
        return value, self._score_gradient(d_logits, probs)

    def _logit_loss(self, scores: Any, truths: Any) -> tuple[float, Any]:
        """Tang et al.'s distillation loss: squared error between student and teacher logits.

        Logits are recovered from probabilities (centred log-probabilities for softmax,
        log-odds for sigmoid: exact up to the constant softmax ignores), so probabilities
        from any teacher are enough. Unlike cross-entropy, the gradient does not vanish
        where both models are confident, so the student also learns *how* sure the
        teacher is. Gold targets (exactly 0/1, no logits to match: whole rows for
        softmax, single labels for sigmoid) get the cross-entropy gradient.
        """
        xp = self.model.ops.xp
        probs = xp.clip(scores, EPS, 1.0 - EPS)
        targets = xp.clip(truths, LOGIT_EPS, 1.0 - LOGIT_EPS)
        exact = (truths == 0.0) | (truths == 1.0)
        if self.multilabel:
            # each label is its own binary task: an exact 0/1 entry is a hard target
            hard = exact
            d_logits = xp.log(probs / (1.0 - probs)) - xp.log(targets / (1.0 - targets))
        else:
            hard = xp.all(exact, axis=1, keepdims=True)
            student, teacher = xp.log(probs), xp.log(targets)
            d_logits = (student - student.mean(axis=1, keepdims=True)) - (teacher - teacher.mean(axis=1, keepdims=True))
        d_logits = xp.where(hard, scores - truths, d_logits).astype("f")
        value = float(0.5 * (d_logits**2).sum(axis=1).mean())
        return value, self._score_gradient(d_logits, probs)

    def _score_gradient(self, d_logits: Any, probs: Any) -> Any:
        """A gradient of the logits, as the gradient the output layer expects (see :meth:`_output_gradient_space`)."""
        space = self._output_gradient_space()
        if space == "logits":
            d_scores = d_logits
        elif space == "softmax":
            # the softmax Jacobian maps g -> p * (g - <p, g>); with g = d/p and sum(d) = 0 it gives d back
            d_scores = d_logits / probs
        else:
            d_scores = d_logits / (probs * (1.0 - probs))
        return d_scores.astype("f")


def class_balance_weights(targets: numpy.ndarray, prior: numpy.ndarray, strength: float) -> numpy.ndarray:
    """Per-example weights that lift rare classes: ``(1 / (k * prior_c)) ** strength`` per class.

    ``targets`` are the examples' rows (soft or gold), ``prior`` the classes' share of the
    training signal (for example the mean of the transfer set's rows). An example weighs the
    mean of its classes' weights under its own row; class weights are at most
    :data:`MAX_CLASS_WEIGHT` and the weights are scaled to a mean of 1 over ``targets``, so
    the loss keeps its size. ``strength`` 0 gives all ones; 1 makes every class weigh as
    much as if the classes were equally frequent.
    """
    targets = numpy.asarray(targets, dtype=numpy.float64)
    if strength <= 0 or not len(targets):
        return numpy.ones(len(targets), dtype=numpy.float32)
    prior = numpy.clip(numpy.asarray(prior, dtype=numpy.float64), 1e-12, None)
    per_class = numpy.minimum((1.0 / (len(prior) * prior)) ** strength, MAX_CLASS_WEIGHT)
    mass = targets.sum(axis=1)
    weights = (targets @ per_class) / numpy.where(mass > 0, mass, 1.0)
    return (weights / weights.mean()).astype(numpy.float32)


def _softmax(xp: Any, logits: Any) -> Any:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = xp.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@Language.factory(
    FACTORY_NAME,
    default_config={
        "model": DEFAULT_SINGLE_TEXTCAT_MODEL,
        "multilabel": False,
        "threshold": 0.5,
        "loss": "mse",
        "temperature": 1.0,
    },
    assigns=["doc.cats"],
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_f_per_type": None,
    },
)
def make_soft_textcat(
    nlp: Language,
    name: str,
    model: Model,
    multilabel: bool,
    threshold: float,
    loss: str,
    temperature: float,
) -> SoftTextCategorizer:
    """spaCy factory of :class:`SoftTextCategorizer` (``nlp.add_pipe("kdtext_soft_textcat")``).

    ``model`` must output probabilities: softmax for ``multilabel=False`` (for example
    ``spacy.TextCatEnsemble.v2`` or ``spacy.TextCatBOW.v3`` with ``exclusive_classes =
    true``), sigmoid for ``multilabel=True`` (``exclusive_classes = false``).
    """
    return SoftTextCategorizer(
        nlp.vocab,
        model,
        name,
        multilabel=multilabel,
        threshold=threshold,
        loss=loss,
        temperature=temperature,
    )


def stock_config(config: Any) -> Any:
    """A pipeline config whose soft text categorizers are spaCy's stock components.

    The soft component differs from spaCy's ``textcat`` / ``textcat_multilabel`` only in
    what it accepts while training; the model, labels and outputs are the same. So a
    trained pipeline saved with this config needs nothing but spaCy to load and run.
    ``config`` is a thinc ``Config`` (not interpolated); a changed copy is returned.
    """
    config = config.copy()
    for component in config.get("components", {}).values():
        if component.get("factory") != FACTORY_NAME:
            continue
        multilabel = bool(component.pop("multilabel", False))
        component.pop("loss", None)
        component.pop("temperature", None)
        component["factory"] = "textcat_multilabel" if multilabel else "textcat"
        component["scorer"] = {"@scorers": "spacy.textcat_multilabel_scorer.v2" if multilabel else "spacy.textcat_scorer.v2"}
    return config
