"""The training loop shared by the spaCy students: gold + soft examples, early stopping.

Kept apart from the model definition so that other students built on a spaCy
text categorizer can reuse it. spaCy and thinc are imported inside functions.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ...metrics import dev_score
from .batches import REPRESENTATION, ExampleList, ExampleSource, TrainingPool, make_docs, make_examples  # noqa: F401  (make_* for callers here)

if TYPE_CHECKING:
    from .representation import RepresentationLoss
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.training import Example


@dataclass
class TrainingSettings:
    """What the loop needs to know; every field comes from a student parameter."""

    batch_size: int = 32
    learn_rate: float = 0.001
    l2: float = 1e-6
    grad_clip: float = 1.0
    dropout: float = 0.1
    max_epochs: int = 30
    max_steps: int = 0
    eval_every: int = 0
    patience: int = 5
    progress: bool = True


@dataclass
class TrainingResult:
    """Figures of one training run, for the report (``as_dict`` is JSON-ready)."""

    steps: int = 0
    epochs: float = 0.0
    best_step: int = 0
    best_dev_score: float = float("-inf")
    dev_metric: str = "accuracy"
    train_seconds: float = 0.0
    n_gold: int = 0
    n_transfer: int = 0
    stopped: str = "max_epochs"
    examples_seen: int = 0
    curve: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "epochs": round(self.epochs, 3),
            "best_step": self.best_step,
            "best_dev_score": self.best_dev_score,
            "dev_metric": self.dev_metric,
            "train_seconds": self.train_seconds,
            "n_gold": self.n_gold,
            "n_transfer": self.n_transfer,
            "examples_seen": self.examples_seen,
            "examples_per_second": self.examples_seen / self.train_seconds if self.train_seconds > 0 else 0.0,
            "stopped": self.stopped,
            "curve": self.curve,
        }


def predict_docs(component: Any, docs: list["Doc"], batch_size: int = 256) -> np.ndarray:
    """Scores of a text categorizer for Docs, float32 ``(len(docs), n_labels)``, without annotating."""
    rows = [np.zeros((0, len(component.labels)), dtype=np.float32)]
    for start in range(0, len(docs), batch_size):
        scores = component.predict(docs[start : start + batch_size])
        rows.append(np.asarray(component.model.ops.to_numpy(scores), dtype=np.float32))
    return np.concatenate(rows)


def train_textcat(
    nlp: "Language",
    component_name: str,
    gold: "Sequence[Example] | ExampleSource",
    transfer: "Sequence[Example] | ExampleSource",
    dev_docs: list["Doc"],
    dev_targets: np.ndarray,
    settings: TrainingSettings,
    *,
    multilabel: bool,
    seed: int,
    gold_repeats: int = 1,
    log: Callable[[str], None] | None = None,
    representations: "tuple[RepresentationLoss, np.ndarray, np.ndarray] | None" = None,
    label: str = "student",
) -> TrainingResult:
    """Train ``nlp``'s text categorizer on shuffled gold + transfer examples, keeping the best weights.

    ``gold`` and ``transfer`` are lists of spaCy Examples or :class:`~kdtext.default_plugins.spacy.batches.ExampleSource`\\s
    (a transfer set read off disk a batch at a time: the same examples give the same model).
    Each epoch sees every gold example ``gold_repeats`` times and every transfer
    example once, in a fresh seeded order. The dev score (accuracy, or macro-F1 for
    multi-label) is computed every ``eval_every`` steps and at least once an epoch (0:
    once per epoch, at most every 500 steps); training stops after ``patience`` evaluations without improvement,
    ``max_steps`` or ``max_epochs``, and the weights of the best evaluation are restored. ``patience`` 0: no
    early stopping, and the last weights are kept (the curve is still recorded).

    ``representations``: ``(loss, gold_targets, transfer_targets)`` to train with
    representation targets as well (:mod:`.representation`): each batch's target rows (NaN
    rows for examples without one) are handed to ``loss`` before the update. The targets may
    be any arrays indexable by a list of rows (memory-mapped ones are read a batch at a time).
    """
    from thinc.api import Adam
    from tqdm import tqdm

    component = nlp.get_pipe(component_name)
    labels = list(component.labels)
    gold = gold if isinstance(gold, ExampleSource) else ExampleList(gold, labels)
    transfer = transfer if isinstance(transfer, ExampleSource) else ExampleList(transfer, labels)
    rep_loss = None
    if representations is not None:  # each batch carries its examples' target rows
        rep_loss, gold_targets, transfer_targets = representations
        gold.add_extra(REPRESENTATION, gold_targets)
        transfer.add_extra(REPRESENTATION, transfer_targets)
    pool = TrainingPool([(gold, gold_repeats), (transfer, 1)])
    steps_per_epoch = max(1, math.ceil(len(pool) / settings.batch_size))
    # at least once an epoch: a student of 8 steps an epoch evaluated every 200 steps had a two-point curve
    eval_every = min(settings.eval_every or 500, steps_per_epoch)
    total_steps = steps_per_epoch * settings.max_epochs
    if settings.max_steps:
        total_steps = min(total_steps, settings.max_steps)
    optimizer = Adam(settings.learn_rate, L2=settings.l2, grad_clip=settings.grad_clip)
    rng = np.random.default_rng(seed)
    result = TrainingResult(
        dev_metric="macro_f1" if multilabel else "accuracy", n_gold=len(gold), n_transfer=len(transfer)
    )
    best_weights: bytes | None = None
    evals_since_best = 0
    running_loss, loss_steps = 0.0, 0
    start = time.perf_counter()
    # one bar per epoch: early stopping usually ends training long before max_epochs, so a
    # bar over every possible step would show hours left and stop part-way without a word
    bar = tqdm(total=min(steps_per_epoch, total_steps), unit="step", file=sys.stderr, disable=not settings.progress, leave=False)
    say = log or (lambda message: print(message, file=sys.stderr) if settings.progress else None)

    def evaluate() -> bool:
        """Score dev, remember the best weights; True when patience has run out."""
        nonlocal best_weights, evals_since_best, running_loss, loss_steps
        score = dev_score(dev_targets, predict_docs(component, dev_docs), multilabel)
        loss = running_loss / loss_steps if loss_steps else float("nan")
        running_loss, loss_steps = 0.0, 0
        point = {
            "step": result.steps,
            "epoch": round(result.steps / steps_per_epoch, 3),
            "examples": result.examples_seen,
            "seconds": round(time.perf_counter() - start, 3),
            "loss": loss,
            "dev_score": score,
        }
        if rep_loss is not None:
            point["representation_loss"] = rep_loss.take_loss()
        result.curve.append(point)
        bar.set_postfix(loss=f"{loss:.4f}", dev=f"{score:.4f}", best=f"{max(score, result.best_dev_score):.4f}")
        if log is not None:
            log(f"step {result.steps}: loss {loss:.4f}, dev {result.dev_metric} {score:.4f}")
        if score > result.best_dev_score:
            result.best_dev_score, result.best_step = score, result.steps
            if settings.patience:  # patience 0 keeps the last weights: no snapshot to restore
                best_weights = component.model.to_bytes()
            evals_since_best = 0
            return False
        evals_since_best += 1
        return bool(settings.patience) and evals_since_best >= settings.patience

    stop = False
    try:
        for epoch in range(settings.max_epochs):
            bar.reset(total=min(steps_per_epoch, total_steps - result.steps))
            bar.set_description(f"training {label}: epoch {epoch + 1} of at most {settings.max_epochs}")
            order = rng.permutation(len(pool))
            for first in range(0, len(order), settings.batch_size):
                batch = pool.batch(order[first : first + settings.batch_size])
                if rep_loss is not None:
                    rep_loss.set_targets(batch.extras[REPRESENTATION])
                losses: dict[str, float] = {}
                component.update(batch.examples, drop=settings.dropout, sgd=optimizer, losses=losses)
                running_loss += losses.get(component_name, 0.0)
                loss_steps += 1
                result.examples_seen += len(batch)
                result.steps += 1
                bar.update(1)
                if result.steps % eval_every == 0 and evaluate():
                    stop, result.stopped = True, "patience"
                    break
                if settings.max_steps and result.steps >= settings.max_steps:
                    stop, result.stopped = True, "max_steps"
                    break
            if stop:
                break
        if not result.curve or result.curve[-1]["step"] != result.steps:
            evaluate()
    finally:
        bar.close()
    if best_weights is not None:
        component.model.from_bytes(best_weights)
    elif not settings.patience and result.curve:  # no selection: the last weights are the kept ones
        result.best_step, result.best_dev_score = result.curve[-1]["step"], result.curve[-1]["dev_score"]
    result.train_seconds = time.perf_counter() - start
    result.epochs = result.steps / steps_per_epoch
    say(stop_message(result, settings, label))
    return result


def stop_message(result: TrainingResult, settings: TrainingSettings, label: str = "student") -> str:
    """One line saying why training ended and which weights were kept."""
    why = {
        "patience": f"early stopping: dev {result.dev_metric} did not improve in {settings.patience} evaluations",
        "max_steps": f"reached max_steps={settings.max_steps}",
        "max_epochs": f"ran all {settings.max_epochs} epochs",
    }[result.stopped]
    return (
        f"{label}: {why}; stopped at step {result.steps:,} (epoch {result.epochs:.1f}) after {result.train_seconds:.0f}s, "
        f"kept step {result.best_step:,} (dev {result.dev_metric} {result.best_dev_score:.4f})"
    )
