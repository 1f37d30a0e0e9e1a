"""Labelling on Ray, same results as the local engine.

Labelling goes through the teacher contract only, so any teacher scales out as the
built-in one does: the driver drops duplicate inputs (texts, or input ids when the
teacher has a tokenizer), sorts the rest by length and cuts them into blocks of similar
lengths (little padding), each row carrying its index. A pool of Ray actors
(:class:`ActorPool` of :class:`TeacherActor`: one teacher per GPU, or per CPU slot, loaded
with the teacher plugin's ``load``; it survives losing actors and whole nodes) labels the
blocks through :func:`kdtext.labelling.label_with_teacher`: the teacher's ``label`` with the run's
:class:`~kdtext.labelling.LabelOptions` where it has one (the built-in teacher's label
cache, shared and safe for concurrent writers, then makes a retried block or a re-run
compute only what is missing), else ``predict_proba``. The driver puts the rows back in
input order by their index, checks that each came back exactly once, and validates the
probabilities as the local engine does.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict, deque
from typing import Any, Callable, Sequence

import numpy as np

from ...errors import ConfigError, KdtextError
from .. import LabelOptions, LabelResult, label_with_teacher
from .support import error_chain, kdtext_error_in, one_line, rate, require_ray, worker_name


class TeacherActor:
    """What each labelling actor runs: loads the teacher once, then labels blocks of inputs.

    The teacher is loaded with ``teacher_cls.load(model_path)`` (the class of the driver's
    teacher, pickled to the worker: by reference when its plugin is installed there),
    else with the ``teacher_name`` plugin's. Each call takes a block
    with columns ``idx`` (int64) and either ``text`` or ``ids`` (lists of int32) and
    returns ``idx``, ``probs`` and ``logits`` (float32 ``(rows, labels)``; logits are NaN
    for a teacher without them), ``cached`` (whether the label cache already held the
    row), the call's ``computed`` and ``truncated`` counts on its first row (0 on the
    others) and, repeated on every row, the ``worker``, ``call`` (a counter of this
    actor), ``seconds`` of the call, ``device``, ``variant`` and ``batch_tokens``; and
    ``representations`` (float16 ``(rows, dims)``) when the options ask for them.
    """

    def __init__(self, teacher_name: str, model_path: str, options: dict[str, Any], teacher_cls: type | None = None, logits: bool = False):
        if teacher_cls is None:
            from ... import plugins

            teacher_cls = plugins.get_teacher(teacher_name)
        self.teacher = teacher_cls.load(model_path)
        self.options = LabelOptions.from_kwargs(**options)
        self.logits = logits
        self.worker = worker_name()
        self.calls = 0

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        self.calls += 1
        idx = batch.column("idx").to_numpy()
        n = len(idx)
        texts: list[str] | None = None
        seqs: list[np.ndarray] | None = None
        if "text" in batch.column_names:
            texts = batch.column("text").to_pylist()
        else:
            column = batch.column("ids").combine_chunks()
            values = column.values.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
            offsets = column.offsets.to_numpy()
            seqs = [values[offsets[i] : offsets[i + 1]] for i in range(n)]
        # checked by the driver, which knows each row's place in the whole input
        result = label_with_teacher(self.teacher, texts, seqs, options=self.options, logits=self.logits, check=False)
        k = np.asarray(result.probs).shape[1] if n else 0
        logits = result.logits if result.logits is not None else np.full((n, k), np.nan, np.float32)
        cached = np.asarray(result.cached, dtype=bool) if getattr(result, "cached", None) is not None else _first_true(n, result.n_cached)
        first_row = np.zeros(n, np.int64)
        out = {
            "idx": idx,
            "probs": np.asarray(result.probs, dtype=np.float32),
            "logits": np.asarray(logits, dtype=np.float32),
            "cached": cached,
            "computed": _on_first_row(first_row, int(result.n_computed)),
            "truncated": _on_first_row(first_row.copy(), int(result.n_truncated)),
            "worker": np.full(n, self.worker, dtype=object),
            "call": np.full(n, self.calls, dtype=np.int64),
            "seconds": np.full(n, time.perf_counter() - started, dtype=np.float64),
            "device": np.full(n, str(getattr(result, "device", "n/a")), dtype=object),
            "variant": np.full(n, str(getattr(result, "variant", "n/a")), dtype=object),
            "batch_tokens": np.full(n, int(getattr(result, "batch_tokens", 0) or 0), dtype=np.int64),
        }
        if self.options.representations:
            from ..validate import check_representations

            out["representations"] = check_representations(result.representations, n, teacher=f"teacher {self.teacher.name!r}")
        return out


def _on_first_row(column: np.ndarray, value: int) -> np.ndarray:
    if len(column):
        column[0] = value
    return column


def _first_true(n: int, k: int) -> np.ndarray:
    """A row mask with ``k`` of ``n`` set: per-row cache hits of a teacher that reports only their number."""
    mask = np.zeros(n, bool)
    mask[: max(min(int(k), n), 0)] = True
    return mask


def length_blocks(lengths: np.ndarray, rows: int) -> list[np.ndarray]:
    """Row indices sorted by length, cut into blocks of at most ``rows``: each block holds similar lengths."""
    order = np.argsort(lengths, kind="stable")
    return [order[a : a + rows] for a in range(0, len(order), max(int(rows), 1))]


def _distinct(inputs: Sequence[Any], as_ids: bool) -> tuple[list[Any], np.ndarray]:
    """``(distinct inputs, inverse)``: ``inputs[i]`` is ``distinct[inverse[i]]``."""
    index: dict[Any, int] = {}
    distinct: list[Any] = []
    inverse = np.zeros(len(inputs), np.int64)
    for i, item in enumerate(inputs):
        if as_ids:
            item = np.asarray(item, dtype=np.int32)
            key: Any = item.tobytes()
        else:
            key = item
        j = index.get(key)
        if j is None:
            j = index[key] = len(distinct)
            distinct.append(item)
        inverse[i] = j
    return distinct, inverse


#: Ray's errors for work lost with an actor's process or node (by name: some exist only in some Ray versions)
_LOST = ("RayActorError", "ActorDiedError", "ActorUnavailableError", "NodeDiedError", "ObjectLostError",
         "OwnerDiedError", "ObjectReconstructionFailedError", "ObjectFetchTimedOutError", "WorkerCrashedError")  # fmt: skip


def lost_with_its_worker(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error in its chain) says that work was lost with an actor's process or node."""
    import ray.exceptions

    lost = tuple(getattr(ray.exceptions, name) for name in _LOST if hasattr(ray.exceptions, name))
    return any(isinstance(item, lost) for item in error_chain(exc))


class _Labeller:
    """The Ray actor of the pool: one ``actor_cls`` (a :class:`TeacherActor`) that labels one block per call."""

    def __init__(self, actor_cls: type, kwargs: dict[str, Any]):
        self.actor = actor_cls(**kwargs)

    def ready(self) -> str:
        return worker_name()

    def label(self, block: Any) -> dict[str, np.ndarray]:
        return self.actor(block)


class ActorPool:
    """Labels blocks with a pool of Ray actors, and survives losing actors and whole nodes.

    Ray's own restart-in-place is off (``max_restarts=0``): an actor restarted in place
    waits for resources like those it had, which a lost node does not give back, and Ray
    2.64 drops the options that bound those restarts. Instead, when an actor dies (its
    process, or its node: a crash, a preemption, a killed ``raylet``), the blocks it held,
    and any result of it not fetched yet, go back to the queue for the actors left, and a replacement actor is started, which joins the
    pool once Ray finds room for it (on a lost node's behalf, maybe never: the others finish
    the job). Each block is tried at most ``1 + max_restarts`` times and at most
    ``max_restarts`` replacements are started per actor of the pool, so an actor that always
    dies (out of memory at load) fails the job with one line instead of looping; so does a
    pool in which no actor is loaded and nothing happens for ``start_timeout`` seconds.
    Actors are only given blocks once loaded, at most two at a time (one labelling, one
    waiting), and are ended when the job ends.
    """

    def __init__(
        self, ray: Any, actor_cls: type, kwargs: dict[str, Any], placement: dict[str, Any], workers: int, *,
        max_restarts: int = 3, start_timeout: float = 600.0,
    ):  # fmt: skip
        self.ray = ray
        self.remote = ray.remote(_Labeller).options(max_restarts=0, max_task_retries=0, **placement)
        self.args = (actor_cls, kwargs)
        self.placement = placement
        self.workers = workers
        self.spare = max_restarts * workers  # replacements left
        self.max_tries = 1 + max_restarts
        self.start_timeout = start_timeout
        self.actors: dict[int, Any] = {}  # every live actor, loaded or not
        self.loading: dict[Any, int] = {}  # ready() ref -> actor
        self.loaded: set[int] = set()
        self.tasks: dict[Any, tuple[int, int]] = {}  # task ref -> (actor, block)
        self.lost = self.retried = self.started = 0

    def _held(self, actor: int) -> list[Any]:
        """The refs of the blocks given to ``actor`` whose results have not been taken."""
        return [ref for ref, (holder, _) in self.tasks.items() if holder == actor]

    def _start(self) -> None:
        handle = self.remote.remote(*self.args)
        self.actors[self.started] = handle
        self.loading[handle.ready.remote()] = self.started
        self.started += 1

    def _lose(self, actor: int, exc: BaseException, queue: deque[int], tries: list[int], blocks: list[Any]) -> None:
        """Actor ``actor`` is gone: its blocks go back to the queue, and a replacement is started."""
        self.ray.kill(self.actors.pop(actor), no_restart=True)  # its other refs are no longer waited on
        self.lost += 1
        self.loaded.discard(actor)
        for ref in self._held(actor):
            _, block = self.tasks.pop(ref)
            if tries[block] >= self.max_tries:
                raise KdtextError(
                    f"labelling on Ray failed: a block of {blocks[block].num_rows:,} examples was lost with its worker "
                    f"{tries[block]} times; last: {one_line(exc)}"
                )
            queue.appendleft(block)
            self.retried += 1
        if self.spare > 0:
            self.spare -= 1
            self._start()

    def run(self, blocks: list[Any], take: Callable[[dict[str, np.ndarray]], None]) -> dict[str, Any]:
        """Labels every block, calling ``take`` with each result; returns the pool's figures."""
        ray = self.ray
        refs = [ray.put(block) for block in blocks]
        queue: deque[int] = deque(range(len(blocks)))
        tries = [0] * len(blocks)
        for _ in range(self.workers):
            self._start()
        last_event = time.monotonic()
        try:
            while queue or self.tasks:
                for actor in sorted(self.loaded):
                    while queue and len(self._held(actor)) < 2:
                        block = queue.popleft()
                        tries[block] += 1
                        ref = self.actors[actor].label.remote(refs[block])
                        self.tasks[ref] = (actor, block)
                done, _ = ray.wait([*self.tasks, *self.loading], num_returns=1, timeout=1.0)
                if not done:
                    if not self.loaded and time.monotonic() - last_event > self.start_timeout:
                        raise KdtextError(
                            f"labelling on Ray failed: no labelling actor could start for {self.start_timeout:g} s (each needs "
                            f"{self.placement}; the cluster has {ray.available_resources()} free): add nodes, or lower --workers"
                        )
                    continue
                last_event = time.monotonic()
                ref = done[0]
                actor = self.loading.pop(ref) if ref in self.loading else self.tasks[ref][0]
                try:
                    result = ray.get(ref)
                except Exception as exc:
                    found = kdtext_error_in(exc)
                    if found is not None:
                        raise found from None
                    if not lost_with_its_worker(exc):
                        raise KdtextError(f"labelling on Ray failed: {one_line(exc)}") from exc
                    self._lose(actor, exc, queue, tries, blocks)
                    if not self.actors:
                        raise KdtextError(f"labelling on Ray failed: every actor was lost ({self.lost}); last: {one_line(exc)}") from None
                    continue
                if ref not in self.tasks:
                    self.loaded.add(actor)  # loaded: it gets blocks from now on
                    continue
                self.tasks.pop(ref)
                take(result)
        finally:
            for handle in self.actors.values():
                ray.kill(handle, no_restart=True)
        return {"actors_started": self.started, "actors_lost": self.lost, "blocks_retried": self.retried}


def label_on_ray(
    teacher: Any,
    texts: Sequence[str] | None = None,
    ids: Sequence[Sequence[int] | np.ndarray] | None = None,
    *,
    model_path: Any,
    teacher_name: str | None = None,
    options: LabelOptions | None = None,
    progress: bool = False,
    workers: int | None = None,
    block_rows: int | None = None,
    cpus_per_worker: float = 1,
    max_restarts: int = 3,
    start_timeout: float = 600.0,
    actor_cls: type | None = None,
    logits: bool = False,
    where: Callable[[int], str] | None = None,
    label_space: Any = None,
    **kwargs: Any,
) -> tuple[LabelResult, dict[str, Any]]:
    """What the local engine gives for ``teacher`` on ``texts`` (or ``ids``), computed by an actor pool on Ray.

    Any teacher works: each actor loads its own copy from ``model_path`` (a folder every
    node can read, as the teacher's ``save`` wrote it) with the ``load`` of ``teacher``'s
    class, and labels through :func:`~kdtext.labelling.label_with_teacher`. ``teacher`` (loaded
    here) gives the label space the output is checked against. ``options`` (or loose
    keyword arguments of the same names) are the :class:`~kdtext.labelling.LabelOptions`
    each actor passes to the teacher's ``label``. ``workers``: actors (default: one per GPU
    of the cluster, or one per ``cpus_per_worker`` CPUs without GPUs or with
    ``device="cpu"``). ``block_rows``: rows per block handed to an actor (default: about
    eight blocks per worker, 32 to 4,096 rows). An actor that dies (its process, or its
    whole node) is replaced and the blocks it held go to the other actors (see
    :class:`ActorPool`: ``max_restarts``, ``start_timeout``); ``actor_cls`` (a
    :class:`TeacherActor` subclass) is for instrumentation; ``logits`` asks a teacher without ``label`` for its
    logits too; ``where(i)`` names input ``i`` in messages; ``label_space`` is what the output
    is checked against (default: the teacher's). Returns the result and
    figures: seconds, examples/s in total and per worker, rows returned by the actors.
    Truncations are counted once per distinct input.
    """
    ray = require_ray()
    import pyarrow as pa

    from ...errors import TeacherOutputError
    from ...validate import check_probabilities

    options = LabelOptions.from_kwargs(options, **kwargs)
    name = teacher_name or getattr(teacher, "name", "") or ""
    if model_path is None or not name:
        raise ConfigError(f"teacher {name or teacher!r} cannot label on Ray: its workers need the saved teacher and its plugin name")
    if (texts is None) == (ids is None):
        raise ConfigError("labelling takes texts or ids (one of them)")
    if options.representations and not getattr(teacher, "gives_representations", False):
        raise ConfigError(f"teacher {name!r} gives no sentence representations (kdtext.Teacher.gives_representations is False)")
    as_ids = ids is not None
    started = time.perf_counter()
    inputs = list(ids if as_ids else texts)  # type: ignore[arg-type]
    distinct, inverse = _distinct(inputs, as_ids)
    space = label_space if label_space is not None else teacher.label_space
    n, k, u = len(inputs), len(space), len(distinct)
    unique_probs = np.zeros((u, k), np.float32)
    unique_logits = np.zeros((u, k), np.float32)
    cached = np.zeros(u, bool)
    unique_reps: np.ndarray | None = None
    prepare_seconds = time.perf_counter() - started

    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    wanted_device = options.device or teacher.device()
    on_gpu = gpus > 0 and str(wanted_device).lower() not in ("cpu", "mps")
    if workers is None:
        workers = gpus if on_gpu else max(int(resources.get("CPU", 1) // cpus_per_worker), 1)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    workers = max(min(workers, u), 1)
    if block_rows is None:
        block_rows = int(min(max(-(-u // (8 * workers)), 32), 4096))
    figures: dict[str, Any] = {"engine": "ray", "workers": workers, "gpus_per_worker": 1 if on_gpu else 0}
    rows_returned = n_computed = n_truncated = 0
    per_call: dict[str, dict[str, Any]] = {}
    devices: set[str] = set()
    variants: set[str] = set()
    batch_tokens = 0
    ray_started = time.perf_counter()
    if u:
        lengths = np.fromiter((len(item) for item in distinct), dtype=np.int64, count=u)
        tables = []
        for rows in length_blocks(lengths, block_rows):
            columns: dict[str, Any] = {"idx": pa.array(rows.astype(np.int64))}
            if as_ids:
                offsets = np.concatenate([[0], np.cumsum(lengths[rows])]).astype(np.int64)
                values = np.concatenate([distinct[int(r)] for r in rows]).astype(np.int32, copy=False)
                columns["ids"] = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values))
            else:
                columns["text"] = pa.array([distinct[int(r)] for r in rows], type=pa.large_string())
            tables.append(pa.table(columns))
        figures["blocks"] = len(tables)
        workers = figures["workers"] = min(workers, len(tables))  # an actor without a block would only cost its start-up
        placement = {"num_gpus": 1} if on_gpu else {"num_cpus": cpus_per_worker}
        constructor = {
            "teacher_name": name, "model_path": str(model_path), "options": {**options.kwargs()}, "teacher_cls": type(teacher), "logits": logits,
        }  # fmt: skip
        got = np.zeros(u, bool)

        def take(batch: dict[str, np.ndarray]) -> None:
            nonlocal rows_returned, n_computed, n_truncated, unique_reps, batch_tokens
            idx = np.asarray(batch["idx"], dtype=np.int64)
            rows_returned += len(idx)
            if bar is not None:
                bar.update(len(idx))
            if got[idx].any():
                return  # a block delivered twice: same labels, keep the first
            got[idx] = True
            unique_probs[idx] = np.asarray(batch["probs"], dtype=np.float32).reshape(len(idx), k)
            unique_logits[idx] = np.asarray(batch["logits"], dtype=np.float32).reshape(len(idx), k)
            cached[idx] = np.asarray(batch["cached"], dtype=bool)
            if options.representations:
                reps = np.asarray(batch["representations"], dtype=np.float16).reshape(len(idx), -1)
                if unique_reps is None:
                    unique_reps = np.zeros((u, reps.shape[1]), np.float16)
                unique_reps[idx] = reps
            n_computed += int(np.asarray(batch["computed"]).sum())
            n_truncated += int(np.asarray(batch["truncated"]).sum())
            calls = np.asarray([f"{w}#{c}" for w, c in zip(batch["worker"].tolist(), batch["call"].tolist())])
            computed = np.asarray(batch["computed"], dtype=np.int64)
            for call in np.unique(calls):
                mask = calls == call
                j = int(np.argmax(mask))
                entry = per_call.setdefault(call, {"worker": str(batch["worker"][j]), "rows": 0, "computed": 0, "seconds": float(batch["seconds"][j])})
                entry["rows"] += int(mask.sum())
                entry["computed"] += int(computed[mask].sum())
            devices.update(str(d) for d in set(batch["device"].tolist()))
            variants.update(str(v) for v in set(batch["variant"].tolist()))
            batch_tokens = max(batch_tokens, int(np.max(batch["batch_tokens"])) if len(idx) else 0)

        pool = ActorPool(ray, actor_cls or TeacherActor, constructor, placement, workers, max_restarts=max_restarts, start_timeout=start_timeout)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=u, unit="ex", desc="labelling on Ray", file=sys.stderr, leave=False)
        try:
            figures.update(pool.run(tables, take))
        finally:
            if bar is not None:
                bar.close()
        missing = int((~got).sum())
        if missing:
            raise KdtextError(f"labelling on Ray lost {missing:,} of {u:,} examples; rerun (the label cache keeps what was done)")
    ray_seconds = time.perf_counter() - ray_started
    logits = unique_logits[inverse] if n else np.zeros((0, k), np.float32)

    if where is None:

        def where(i: int) -> str:
            return f"example {i}" if as_ids else f"example {i} ({inputs[i][:40]!r})"

    probs = check_probabilities(
        unique_probs[inverse] if n else np.zeros((0, k), np.float32), n, space, who=f"teacher {name!r}", where=where, error=TeacherOutputError
    )
    seconds = time.perf_counter() - started
    n_cached = int(cached[inverse].sum()) if n else 0
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
            "driver_prepare_seconds": round(prepare_seconds, 3),
            "ray_seconds": round(ray_seconds, 3),
            # computed examples over the wall time of the whole call, as the local engine reports it
            "examples_per_second": rate(n_computed, seconds),
            "per_worker": {
                worker: {**slot, "seconds": round(slot["seconds"], 3), "examples_per_second": rate(slot["computed"], slot["seconds"])}
                for worker, slot in sorted(per_worker.items())
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
        batch_tokens=batch_tokens,
        cached=cached[inverse] if n else np.zeros(0, bool),
    )
    if options.representations:
        from ..validate import check_representations

        reps = unique_reps[inverse] if unique_reps is not None else np.zeros((0, 0), np.float16)
        result.representations = check_representations(reps, n, teacher=f"teacher {name!r}", where=where)
    return result, figures
