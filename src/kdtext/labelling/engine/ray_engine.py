"""Augmentation on Ray (Ray Core tasks), and the Ray engine; labelling on Ray is in :mod:`.ray_labelling`.

Augmentation: the corpus goes to the object store once; one task per shard
(``corpus.shards(k)[i]``) runs the augmenter with ``n=None`` and the run's seed. Each
document's random stream is seeded by (seed, global document index, round), so a shard
gives exactly the examples the same documents give in a whole-corpus run;
:meth:`SyntheticSet.merge` then orders them by (round, document), drops duplicates
across shards and copies of the source texts, and keeps the first ``n``. The result is
the local engine's, whatever the number of shards or workers.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ...augment.rounds import run_augmenter
from ...errors import ConfigError, KdtextError
from .. import LabelOptions, LabelResult, available_cores
from .ray_labelling import TeacherActor, label_on_ray, length_blocks
from .support import kdtext_error_in, rate, require_ray, worker_name

if TYPE_CHECKING:
    from ...augment.corpus import TokenizedCorpus
    from ...augment.synthetic import SyntheticSet

__all__ = ["RayEngine", "TeacherActor", "augment_on_ray", "label_on_ray", "length_blocks", "shardable"]

#: Note the kernels add to a shard with no document to augment; true of the whole corpus only if of every shard.
_NOTHING_NOTE = "no source text could be augmented"


# -- augmentation -------------------------------------------------------------------------------


def _augment_shard(corpus: "TokenizedCorpus", k: int, i: int, augmenter: Any, seed: int) -> tuple[Any, ...]:
    """Run in a Ray task: every example of shard ``i`` of ``k`` (``n=None``), as arrays.

    The vocabulary is not sent back (the driver has it); only the words the augmenter
    appended to it (the mask token).
    """
    shard = corpus.shards(k)[i]
    started = time.perf_counter()
    part = augmenter.augment(shard, None, seed=seed)
    seconds = time.perf_counter() - started
    base = corpus.vocab
    if part.vocab is not base and part.vocab[: len(base)] != base:
        raise KdtextError(f"augmenter {getattr(augmenter, 'name', augmenter)!r} changed the corpus vocabulary; it cannot run on Ray")
    extra = list(part.vocab[len(base) :])
    arrays = (part.words, part.spaces, part.offsets, part.source, part.rounds)
    meta = {"augmenter": part.augmenter, "seed": part.seed, "params": part.params, "skipped": part.skipped, "notes": part.notes}
    figures = {"shard": i, "docs": shard.n_docs, "examples": len(part), "seconds": round(seconds, 4), "worker": worker_name()}
    return extra, arrays, meta, figures


def shardable(augmenter: Any) -> bool:
    """Whether an augmenter's output on shards merges into its output on the whole corpus.

    The augmenter says so (``Augmenter.shardable``, True for the built-in kernel
    augmenters); others run as one task on the whole corpus.
    """
    return bool(getattr(augmenter, "shardable", False))


def augment_on_ray(
    corpus: "TokenizedCorpus", augmenter: Any, n: int | None, *, seed: int = 0, shards: int | None = None, num_cpus_per_task: float = 1
) -> tuple["SyntheticSet", dict[str, Any]]:
    """``augmenter.augment(corpus, n, seed=seed)`` computed shard by shard on Ray.

    ``shards`` defaults to four per CPU of the cluster (at most one per document). Returns
    the set, identical to the local engine's, and figures: seconds, examples/s in total
    and per worker, and per shard.
    """
    ray = require_ray()
    from ...augment.synthetic import SyntheticSet

    started = time.perf_counter()
    if n == 0 or corpus.n_docs == 0 or not shardable(augmenter):
        # nothing to spread out, or an augmenter whose shards would not merge: one task
        k = 1
    else:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        k = shards if shards is not None else 4 * max(cpus, 1)
        if k < 1:
            raise ConfigError(f"the number of shards must be at least 1, got {k}")
        k = min(k, corpus.n_docs)
    if k == 1 and not shardable(augmenter):
        task = ray.remote(num_cpus=num_cpus_per_task)(_whole_corpus)
        synthetic, figures = ray.get(task.remote(corpus, augmenter, n, seed))
        seconds = time.perf_counter() - started
        return synthetic, _augment_figures([figures], len(synthetic), seconds)
    corpus_ref = ray.put(corpus)
    task = ray.remote(num_cpus=num_cpus_per_task)(_augment_shard)
    try:
        outputs = ray.get([task.remote(corpus_ref, k, i, augmenter, seed) for i in range(k)])
    except Exception as exc:
        found = kdtext_error_in(exc)
        if found is not None:
            raise found from None
        raise
    vocabs: dict[tuple[str, ...], list[str]] = {}
    parts = []
    for extra, arrays, meta, _ in outputs:
        key = tuple(extra)
        if key not in vocabs:
            vocabs[key] = corpus.vocab + list(extra) if extra else corpus.vocab
        parts.append(SyntheticSet(vocabs[key], *arrays, **meta))
    unique = bool(getattr(augmenter, "params", {}).get("unique", True))
    synthetic = SyntheticSet.merge(parts, n, exclude=corpus if unique else None, unique=unique)
    synthetic.notes = _merged_notes(synthetic, corpus, n, augmenter)
    seconds = time.perf_counter() - started
    return synthetic, _augment_figures([o[3] for o in outputs], len(synthetic), seconds)


def _whole_corpus(corpus: "TokenizedCorpus", augmenter: Any, n: int | None, seed: int) -> tuple["SyntheticSet", dict[str, Any]]:
    started = time.perf_counter()
    synthetic = run_augmenter(augmenter, corpus, n, seed=seed)
    return synthetic, {"shard": 0, "docs": corpus.n_docs, "examples": len(synthetic), "seconds": round(time.perf_counter() - started, 4), "worker": worker_name()}


def _merged_notes(synthetic: "SyntheticSet", corpus: "TokenizedCorpus", n: int | None, augmenter: Any) -> list[str]:
    """The notes a whole-corpus run gives: per-shard notes hold only for the shards."""
    notes = [note for note in synthetic.notes if not note.startswith(_NOTHING_NOTE)]
    eligible = corpus.n_docs - sum(synthetic.skipped.values())
    if eligible <= 0:
        notes.append(f"{_NOTHING_NOTE} (each needs at least two tokens)")
    elif n is not None and len(synthetic) < n:
        n_iter = getattr(augmenter, "params", {}).get("n_iter", "all")
        notes.append(
            f"made {len(synthetic):,} of the {n:,} examples asked for: {n_iter} rounds over {eligible:,} source texts "
            "gave no more distinct ones (raise n_iter, or add unlabelled texts)"
        )
    return notes


def _augment_figures(tasks: list[dict[str, Any]], kept: int, seconds: float) -> dict[str, Any]:
    """Total and per-worker throughput. Per worker: examples its shards made (before the
    merge drops duplicates across shards) over the seconds its tasks ran."""
    per_worker: dict[str, dict[str, float]] = defaultdict(lambda: {"examples": 0, "seconds": 0.0, "shards": 0})
    for task in tasks:
        entry = per_worker[task["worker"]]
        entry["examples"] += task["examples"]
        entry["seconds"] += task["seconds"]
        entry["shards"] += 1
    return {
        "engine": "ray",
        "shards": len(tasks),
        "workers": len(per_worker),
        "seconds": round(seconds, 3),
        "examples_per_second": rate(kept, seconds),
        "per_worker": {
            name: {**entry, "seconds": round(entry["seconds"], 3), "examples_per_second": rate(int(entry["examples"]), entry["seconds"])}
            for name, entry in sorted(per_worker.items())
        },
        "per_shard": tasks,
    }


# -- the engine ---------------------------------------------------------------------------------


class RayEngine:
    """Augmentation and labelling on a Ray cluster (``address``) or a local Ray instance.

    ``num_cpus`` sizes the local instance (default: this machine's cores); ``workers``
    caps the labelling actors; ``shards`` sets the augmentation shards. A session that
    started Ray shuts it down at its end, unless ``keep_alive`` (then Ray stays up for
    the next stage and stops when the process exits).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, *, num_cpus: int | None = None, workers: int | None = None,
        shards: int | None = None, keep_alive: bool = False,
    ):  # fmt: skip
        self.address = address
        self.num_cpus = num_cpus
        self.workers = workers
        self.shards = shards
        self.keep_alive = keep_alive

    @contextlib.contextmanager
    def session(self) -> Iterator["RayEngine"]:
        """Connect to the cluster, or start a local instance, for the block; a Ray already
        initialized in this process is used as it is and left running."""
        ray = require_ray()
        started = False
        if not ray.is_initialized():
            import logging

            try:
                if self.address:
                    ray.init(address=self.address, logging_level=logging.WARNING)
                else:
                    ray.init(num_cpus=self.num_cpus or available_cores(), include_dashboard=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray instance"
                raise KdtextError(f"cannot start or reach {where}: {exc}") from None
            started = True
        try:
            yield self
        finally:
            if started and not self.keep_alive:
                ray.shutdown()

    def augment(self, corpus: "TokenizedCorpus", augmenter: Any, n: int | None, *, seed: int = 0, sink: Any = None) -> tuple["SyntheticSet | None", dict[str, Any]]:
        """Like :meth:`kdtext.labelling.engine.LocalEngine.augment`, on the cluster (``sink`` gets the merged set at once)."""
        with self.session():
            synthetic, figures = augment_on_ray(corpus, augmenter, n, seed=seed, shards=self.shards)
        if sink is not None:
            sink.add(synthetic)
        return (synthetic if sink is None else None), figures

    def label(
        self,
        teacher: Any,
        texts: Sequence[str] | None = None,
        ids: Sequence[Sequence[int] | np.ndarray] | None = None,
        *,
        options: LabelOptions | None = None,
        model_path: Any = None,
        teacher_name: str | None = None,
        progress: Any = False,
        logits: bool = False,
        where: Callable[[int], str] | None = None,
        label_space: Any = None,
        **kwargs: Any,
    ) -> tuple[LabelResult, dict[str, Any]]:
        """Like :meth:`kdtext.labelling.engine.LocalEngine.label`, on the cluster (see :func:`label_on_ray`)."""
        kwargs.setdefault("workers", self.workers)
        with self.session():
            return label_on_ray(
                teacher, texts, ids, model_path=model_path, teacher_name=teacher_name, options=options, progress=bool(progress),
                logits=logits, where=where, label_space=label_space, **kwargs,
            )  # fmt: skip
