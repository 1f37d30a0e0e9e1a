"""Augmentation and labelling on Ray (Ray Core tasks and Ray Data), same results as the local engine.

Augmentation: the corpus goes to the object store once; one task per shard
(``corpus.shards(k)[i]``) runs the augmenter with ``n=None`` and the run's seed. Each
document's random stream is seeded by (seed, global document index, round), so a shard
gives exactly the examples the same documents give in a whole-corpus run;
:meth:`SyntheticSet.merge` then orders them by (round, document), drops duplicates
across shards and copies of the source texts, and keeps the first ``n``. The result is
the local engine's, whatever the number of shards or workers.

Labelling: the driver tokenizes (or checks the given ids), drops duplicate inputs, sorts
the rest by length and cuts them into blocks of similar lengths (little padding), each
row carrying its index. A Ray Data actor pool (:class:`TeacherActor`: one teacher per
GPU, or per CPU slot) labels the blocks with ``map_batches``; every actor writes to the
teacher's label cache (``cache_dir``, shared, safe for concurrent writers), so a block
retried after a lost worker, or a re-run of the whole job, computes only what is
missing. The driver puts the rows back in input order by their index and checks that
each came back exactly once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import warnings
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from ..errors import ConfigError, KdtextError
from . import rate, require_ray

if TYPE_CHECKING:
    from ..augment import SyntheticSet
    from ..corpus import TokenizedCorpus
    from ..teacher.labelling import LabelResult

#: Note the kernels add to a shard with no document to augment; true of the whole corpus only if of every shard.
_NOTHING_NOTE = "no source text could be augmented"


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _kdtext_error_in(exc: BaseException) -> KdtextError | None:
    """The :class:`KdtextError` a Ray task raised, found in the chain of wrappers, if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, KdtextError):
            return item
        todo.extend([item.__cause__, item.__context__, getattr(item, "cause", None)])
    return None


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
    figures = {"shard": i, "docs": shard.n_docs, "examples": len(part), "seconds": round(seconds, 4), "worker": _worker_name()}
    return extra, arrays, meta, figures


def shardable(augmenter: Any) -> bool:
    """Whether an augmenter's output on shards merges into its output on the whole corpus.

    True of the built-in (kernel) augmenters; a plugin says so with a ``shardable = True``
    class attribute. Others run as one task on the whole corpus.
    """
    flag = getattr(augmenter, "shardable", None)
    if flag is not None:
        return bool(flag)
    from ..default_plugins.augmenters import KernelAugmenter

    return isinstance(augmenter, KernelAugmenter)


def augment_on_ray(
    corpus: "TokenizedCorpus",
    augmenter: Any,
    n: int | None,
    *,
    seed: int = 0,
    shards: int | None = None,
    num_cpus_per_task: float = 1,
) -> tuple["SyntheticSet", dict[str, Any]]:
    """``augmenter.augment(corpus, n, seed=seed)`` computed shard by shard on Ray.

    ``shards`` defaults to four per CPU of the cluster (at most one per document). Returns
    the set, identical to the local engine's, and figures: seconds, examples/s in total
    and per worker, and per shard.
    """
    ray = require_ray()
    from ..augment import SyntheticSet

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
        found = _kdtext_error_in(exc)
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
    synthetic = augmenter.augment(corpus, n, seed=seed)
    seconds = time.perf_counter() - started
    return synthetic, {"shard": 0, "docs": corpus.n_docs, "examples": len(synthetic), "seconds": round(seconds, 4), "worker": _worker_name()}


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


# -- labelling ----------------------------------------------------------------------------------


class TeacherActor:
    """A Ray Data callable class: loads the teacher once, then labels blocks of input ids.

    Each call takes a block with columns ``idx`` (int64) and ``ids`` (lists of int32, with
    special tokens) and returns ``idx``, ``logits`` (float32 ``(rows, labels)``),
    ``cached`` (whether the label cache already held the row) and, repeated on every row,
    the ``worker``, ``call`` (a counter of this actor), ``seconds`` of the call,
    ``device`` and ``variant``.
    """

    def __init__(self, teacher_name: str, model_path: str, options: dict[str, Any]):
        from .. import plugins

        self.teacher = plugins.get_teacher(teacher_name).load(model_path)
        self.options = dict(options)
        self.worker = _worker_name()
        self.calls = 0
        self._cache: Any = None
        self._variant: str | None = None

    def _variant_and_cache(self) -> tuple[str, Any]:
        """The inference variant (part of the cache key) and the teacher's own cache object,
        made the way :func:`kdtext.teacher.labelling.label` makes it so both share one index."""
        if self._variant is None:
            from ..teacher.cache import LabelCache
            from ..teacher.device import resolve_device

            device = resolve_device(self.options.get("device") or self.teacher.params.get("device"))
            _, self._variant, _ = self.teacher.inference_model(
                device, quantize=self.options.get("quantize"), precision=self.options.get("precision", "auto")
            )
            cache_dir = self.options.get("cache_dir")
            if cache_dir is not None:
                namespace = f"{self.teacher.fingerprint()}-{self._variant}"
                caches = getattr(self.teacher, "_caches", {})
                key = (str(cache_dir), namespace)
                if key not in caches:
                    caches[key] = LabelCache(cache_dir, namespace, len(self.teacher.label_space))
                self._cache = caches[key]
        return self._variant, self._cache

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        from ..teacher.cache import sequence_keys

        started = time.perf_counter()
        self.calls += 1
        column = batch.column("ids").combine_chunks()
        values = column.values.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        offsets = column.offsets.to_numpy()
        seqs = [values[offsets[i] : offsets[i + 1]] for i in range(len(column))]
        idx = batch.column("idx").to_numpy()
        variant, cache = self._variant_and_cache()
        cached = cache.lookup(sequence_keys(seqs))[0] if cache is not None else np.zeros(len(seqs), bool)
        result = self.teacher.label(ids=seqs, progress=False, **self.options)
        n = len(seqs)
        return {
            "idx": idx,
            "logits": result.logits,
            "cached": cached,
            "worker": np.full(n, self.worker, dtype=object),
            "call": np.full(n, self.calls, dtype=np.int64),
            "seconds": np.full(n, time.perf_counter() - started, dtype=np.float64),
            "device": np.full(n, result.device, dtype=object),
            "variant": np.full(n, variant, dtype=object),
        }


def length_blocks(lengths: np.ndarray, rows: int) -> list[np.ndarray]:
    """Row indices sorted by length, cut into blocks of at most ``rows``: each block holds similar lengths."""
    order = np.argsort(lengths, kind="stable")
    return [order[a : a + rows] for a in range(0, len(order), max(int(rows), 1))]


def label_on_ray(
    teacher: Any,
    texts: Sequence[str] | None = None,
    ids: Sequence[Sequence[int] | np.ndarray] | None = None,
    *,
    model_path: Any,
    teacher_name: str | None = None,
    cache_dir: Any = None,
    batch_tokens: int | None = None,
    max_batch_size: int | None = None,
    device: Any = None,
    quantize: str | None = None,
    precision: str = "auto",
    with_special_tokens: bool = True,
    progress: bool = False,
    workers: int | None = None,
    block_rows: int | None = None,
    cpus_per_worker: float = 1,
    max_restarts: int = 3,
    actor_cls: type | None = None,
) -> tuple["LabelResult", dict[str, Any]]:
    """What ``teacher.label(texts|ids, ...)`` returns, computed by an actor pool on Ray.

    ``teacher`` (loaded here) tokenizes and turns logits into probabilities; each actor
    loads its own copy from ``model_path`` (a folder every node can read) with the
    ``teacher_name`` plugin. ``workers``: actors (default: one per GPU of the cluster, or
    one per ``cpus_per_worker`` CPUs without GPUs or with ``device="cpu"``).
    ``block_rows``: rows per block handed to an actor (default: about eight blocks per
    worker, 32 to 4,096 rows). An actor that dies is restarted and its block retried, up
    to ``max_restarts`` times; ``actor_cls`` (a :class:`TeacherActor` subclass) is for
    instrumentation. Returns the result and figures: seconds, examples/s in total and per
    worker, rows returned by the actors.
    """
    ray = require_ray()
    import pyarrow as pa

    from ..teacher.cache import sequence_keys
    from ..teacher.labelling import LabelResult, encode_inputs
    from ..teacher.validate import check_teacher_output

    if model_path is None or not hasattr(teacher, "label"):
        raise ConfigError(f"teacher {getattr(teacher, 'name', teacher)!r} cannot label on Ray (it needs a saved model folder and label()); use --engine local")
    started = time.perf_counter()
    seqs, n_truncated = encode_inputs(teacher, texts, ids, with_special_tokens)
    space = teacher.label_space
    n, k = len(seqs), len(space)
    keys = sequence_keys(seqs)
    if n:
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        first, inverse = np.zeros(0, np.int64), np.zeros(0, np.int64)
    useqs = [seqs[int(i)] for i in first]
    u = len(useqs)
    unique_logits = np.zeros((u, k), np.float32)
    cached = np.zeros(u, bool)
    tokenize_seconds = time.perf_counter() - started

    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    on_gpu = gpus > 0 and str(device or teacher.params.get("device") or "auto").lower() not in ("cpu", "mps")
    if workers is None:
        workers = gpus if on_gpu else max(int(resources.get("CPU", 1) // cpus_per_worker), 1)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    workers = max(min(workers, u), 1)
    if block_rows is None:
        block_rows = int(min(max(-(-u // (8 * workers)), 32), 4096))
    options = {
        "cache_dir": None if cache_dir is None else str(cache_dir),
        "batch_tokens": batch_tokens,
        "max_batch_size": max_batch_size,
        "device": device,
        "quantize": quantize,
        "precision": precision,
    }
    figures: dict[str, Any] = {"engine": "ray", "workers": workers, "gpus_per_worker": 1 if on_gpu else 0}
    rows_returned = 0
    per_call: dict[str, dict[str, Any]] = {}
    devices: set[str] = set()
    variants: set[str] = set()
    ray_started = time.perf_counter()
    if u:
        lengths = np.fromiter((len(s) for s in useqs), dtype=np.int64, count=u)
        tables = []
        for rows in length_blocks(lengths, block_rows):
            block_lengths = lengths[rows]
            offsets = np.concatenate([[0], np.cumsum(block_lengths)]).astype(np.int64)
            values = np.concatenate([useqs[int(r)] for r in rows]).astype(np.int32, copy=False)
            tables.append(
                pa.table({"idx": pa.array(rows.astype(np.int64)), "ids": pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values))})
            )
        figures["blocks"] = len(tables)
        workers = figures["workers"] = min(workers, len(tables))  # an actor without a block would only cost its start-up
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = bool(progress)
        dataset = ray.data.from_arrow(tables)
        placement = {"num_gpus": 1} if on_gpu else {"num_cpus": cpus_per_worker}
        if not progress:
            import logging

            logging.getLogger("ray.data").setLevel(logging.WARNING)
        map_args = dict(
            batch_size=None,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=workers),
            fn_constructor_kwargs={"teacher_name": teacher_name or teacher.name, "model_path": str(model_path), "options": options},
            **placement,
        )
        # A lost actor is restarted and its block retried; bounded, so an actor that always
        # dies (out of memory at load) fails the job instead of looping. Ray >= 2.64 drops
        # these keyword arguments: its defaults (unbounded retries) then apply.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                dataset = dataset.map_batches(actor_cls or TeacherActor, max_restarts=max_restarts, max_task_retries=max_restarts, **map_args)
            except TypeError:
                dataset = dataset.map_batches(actor_cls or TeacherActor, **map_args)
        got = np.zeros(u, bool)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                idx = np.asarray(batch["idx"], dtype=np.int64)
                rows_returned += len(idx)
                if got[idx].any():
                    continue  # a block delivered twice: same labels, keep the first
                got[idx] = True
                unique_logits[idx] = np.asarray(batch["logits"], dtype=np.float32).reshape(len(idx), k)
                cached[idx] = np.asarray(batch["cached"], dtype=bool)
                calls = np.asarray([f"{w}#{c}" for w, c in zip(batch["worker"].tolist(), batch["call"].tolist())])
                computed = ~np.asarray(batch["cached"], dtype=bool)
                for call in np.unique(calls):
                    mask = calls == call
                    j = int(np.argmax(mask))
                    entry = per_call.setdefault(call, {"worker": str(batch["worker"][j]), "rows": 0, "computed": 0, "seconds": float(batch["seconds"][j])})
                    entry["rows"] += int(mask.sum())
                    entry["computed"] += int(computed[mask].sum())
                devices.update(str(d) for d in set(batch["device"].tolist()))
                variants.update(str(v) for v in set(batch["variant"].tolist()))
        except Exception as exc:
            found = _kdtext_error_in(exc)
            if found is not None:
                raise found from None
            raise KdtextError(f"labelling on Ray failed: {type(exc).__name__}: {exc}") from exc
        missing = int((~got).sum())
        if missing:
            raise KdtextError(f"labelling on Ray lost {missing:,} of {u:,} examples; rerun (the label cache keeps what was done)")
    ray_seconds = time.perf_counter() - ray_started
    logits = unique_logits[inverse] if n else np.zeros((0, k), np.float32)
    probs = check_teacher_output(teacher.activation(logits), n, space, teacher=f"teacher {teacher.name!r}")
    seconds = time.perf_counter() - started
    n_cached = int(cached[inverse].sum()) if n else 0
    n_computed = int(u - cached.sum())
    per_worker: dict[str, dict[str, Any]] = defaultdict(lambda: {"examples": 0, "computed": 0, "seconds": 0.0, "blocks": 0})
    for entry in per_call.values():
        slot = per_worker[entry["worker"]]
        slot["examples"] += entry["rows"]
        slot["computed"] += entry["computed"]
        slot["seconds"] += entry["seconds"]
        slot["blocks"] += 1
    figures.update(
        {
            "examples": n,
            "distinct": u,
            "computed": n_computed,
            "rows_returned": rows_returned,
            "seconds": round(seconds, 3),
            "driver_tokenize_seconds": round(tokenize_seconds, 3),
            "ray_seconds": round(ray_seconds, 3),
            # computed examples over the wall time of the whole call, as the local engine reports it
            "examples_per_second": rate(n_computed, seconds),
            "per_worker": {
                name: {**slot, "seconds": round(slot["seconds"], 3), "examples_per_second": rate(slot["computed"], slot["seconds"])}
                for name, slot in sorted(per_worker.items())
            },
        }
    )
    result = LabelResult(
        probs=probs,
        logits=logits,
        n_truncated=n_truncated,
        n_cached=n_cached,
        n_computed=n_computed,
        seconds=seconds,
        device=",".join(sorted(devices)) or "none",
        variant=",".join(sorted(variants)) or "none",
        batch_tokens=int(batch_tokens or teacher.params.get("batch_tokens") or 0),
    )
    return result, figures


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
                    from ..teacher.device import available_cores

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

    def close(self) -> None:
        pass

    def augment(self, corpus: "TokenizedCorpus", augmenter: Any, n: int | None, *, seed: int = 0) -> tuple["SyntheticSet", dict[str, Any]]:
        with self.session():
            return augment_on_ray(corpus, augmenter, n, seed=seed, shards=self.shards)

    def label(
        self,
        teacher: Any,
        texts: Sequence[str] | None = None,
        ids: Sequence[Sequence[int] | np.ndarray] | None = None,
        *,
        model_path: Any = None,
        teacher_name: str | None = None,
        **options: Any,
    ) -> tuple["LabelResult", dict[str, Any]]:
        options.setdefault("workers", self.workers)
        with self.session():
            return label_on_ray(teacher, texts, ids, model_path=model_path, teacher_name=teacher_name, **options)
