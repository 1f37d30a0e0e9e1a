"""Representation targets: the student learns the teacher's sentence vectors, not only its labels.

A teacher labels each example with a few probabilities, but its encoder knows hundreds of
numbers about the text. With representation targets, the student's training adds a second
loss: the mean of the student's token vectors (the ``tok2vec`` output every spaCy
text-classifier architecture has), through a linear projection used only in training, should
match the teacher's sentence representation of the same text (the mean of its last hidden
states), reduced by PCA to ``dims`` components. The gradient flows into the student's token
vectors, so every head (the CNN, attention or reduce pooling, the ensemble) gains from it.

The projection is not part of the pipeline: the saved student is the same spaCy pipeline as
without the loss, and loads with spaCy alone.

:class:`RepresentationTargets` fits the PCA on the transfer set's representations;
:class:`RepresentationLoss` wraps the text categorizer's ``tok2vec`` and ``update`` for the
length of one training run. The training loop tells it each batch's targets with
:meth:`RepresentationLoss.set_targets`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Rows of the transfer set the PCA is fitted on (a seeded sample: PCA needs no more).
PCA_SAMPLE = 20000


class RepresentationTargets:
    """Teacher representations -> PCA components, scaled so an average component has unit variance.

    The scale makes the loss weight mean the same at any ``dims`` and for any teacher width.
    """

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.mean: np.ndarray | None = None
        self.components: np.ndarray | None = None
        self.scale = 1.0

    def fit(self, reps: np.ndarray, seed: int = 0) -> "RepresentationTargets":
        """Fit on ``reps`` (float, ``(n, width)``; rows with NaN are left out)."""
        reps = np.asarray(reps)
        finite = np.flatnonzero(np.isfinite(reps).all(axis=1))
        if len(finite) < 2:
            raise ValueError("representation targets need at least two examples with a teacher representation")
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(finite, min(PCA_SAMPLE, len(finite)), replace=False))
        sample = reps[rows].astype(np.float64)
        self.mean = sample.mean(axis=0)
        _, singular, vt = np.linalg.svd(sample - self.mean, full_matrices=False)
        dims = min(self.dims, vt.shape[0])
        self.components = vt[:dims] * np.sign(vt[:dims, :1] + 1e-12)  # signs fixed: reproducible
        variance = (singular[:dims] ** 2).sum() / max(len(sample) - 1, 1) / dims
        self.scale = float(np.sqrt(variance)) or 1.0
        return self

    def transform(self, reps: np.ndarray) -> np.ndarray:
        """float32 ``(n, dims)``; rows with NaN (no teacher representation) stay NaN."""
        if self.components is None or self.mean is None:
            raise RuntimeError("RepresentationTargets.fit() first")
        reps = np.asarray(reps)
        out = np.empty((len(reps), len(self.components)), np.float32)
        for start in range(0, len(reps), 65536):
            part = reps[start : start + 65536].astype(np.float64)
            out[start : start + 65536] = ((part - self.mean) @ self.components.T) / self.scale
        return out


class RepresentationLoss:
    """Adds ``weight`` x the squared error between the projected mean token vector and the target.

    Installed on a spaCy text categorizer for one training run: its ``tok2vec`` forward pass
    is wrapped (while training, the mean of each text's token vectors goes through the
    projection, and the error's gradient joins the token vectors' own), and its ``update``
    also updates the projection with the same optimizer. :meth:`remove` restores both.
    ``loss`` is the running mean of the (unweighted) per-example loss since the last
    :meth:`take_loss`.
    """

    def __init__(self, component: Any, dims: int, weight: float, seed: int = 0) -> None:
        from thinc.api import Linear

        self.weight = float(weight)
        self.component = component
        self.tok2vec = component.model.get_ref("tok2vec")
        width = self.tok2vec.get_dim("nO")
        self.projection = Linear(nO=dims, nI=width)
        self.projection.initialize()
        bound = np.sqrt(6.0 / (width + dims))
        weights = np.random.default_rng(seed).uniform(-bound, bound, (dims, width)).astype("f")
        self.projection.set_param("W", self.projection.ops.asarray(weights))
        self.targets: np.ndarray | None = None
        self._loss, self._batches = 0.0, 0
        self._forward = self.tok2vec._func
        self._update = component.update
        self.tok2vec._func = self._wrapped_forward
        component.update = self._wrapped_update

    def set_targets(self, targets: np.ndarray | None) -> None:
        """The next batch's targets, one row per example in batch order (NaN rows: none)."""
        self.targets = None if targets is None else np.asarray(targets, dtype=np.float32)

    def take_loss(self) -> float:
        """Mean loss per batch since the last call (NaN if no batch had targets)."""
        loss = self._loss / self._batches if self._batches else float("nan")
        self._loss, self._batches = 0.0, 0
        return loss

    def remove(self) -> None:
        self.tok2vec._func = self._forward
        self.component.update = self._update

    def _wrapped_update(self, examples: Any, *args: Any, sgd: Any = None, **kwargs: Any) -> Any:
        out = self._update(examples, *args, sgd=sgd, **kwargs)
        if sgd is not None:
            self.projection.finish_update(sgd)
        self.targets = None
        return out

    def _wrapped_forward(self, model: Any, docs: Any, is_train: bool) -> Any:
        vectors, backprop = self._forward(model, docs, is_train)
        targets = self.targets
        if not is_train or targets is None or len(targets) != len(vectors):
            return vectors, backprop
        keep = [i for i, v in enumerate(vectors) if len(v) and np.isfinite(targets[i]).all()]
        if not keep:
            return vectors, backprop
        ops = model.ops
        means = ops.xp.stack([vectors[i].mean(axis=0) for i in keep])
        predicted, backprop_projection = self.projection.begin_update(means)
        error = predicted - ops.asarray(targets[keep])
        self._loss += float((error**2).sum(axis=1).mean()) / 2
        self._batches += 1
        d_means = backprop_projection(error * (self.weight / len(vectors)))
        extra = {i: d_means[k] / len(vectors[i]) for k, i in enumerate(keep)}

        def backprop_with_targets(d_vectors: Any) -> Any:
            return backprop([d + extra[i] if i in extra else d for i, d in enumerate(d_vectors)])

        return vectors, backprop_with_targets
