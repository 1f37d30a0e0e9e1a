"""Where the two heavy stages run: on this process (``local``) or on a Ray cluster (``ray``).

::

    from kdtext.labelling.engine import get_engine

    engine = get_engine("ray", ray_address=None)      # None: a local Ray instance
    with engine.session():
        synthetic, figures = engine.augment(corpus, augmenter, n=60_000, seed=0)
        result, figures = engine.label(teacher, ids=ids, model_path="runs/x/teacher/model", cache_dir="cache")

Both engines give the same examples for the same seed (the augmentation engine seeds
each document's random stream with its global index, so shards are independent) and the
same probabilities in the same order. ``figures`` are the throughput figures that end up
in ``report.json``: examples per second in total and per worker.

Ray is an optional dependency (``pip install 'kdtext[ray]'``); it is imported only inside
the functions that use it, so ``kdtext --help`` and the local engine never load it.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ...errors import ConfigError
from .. import LabelOptions, label_with_teacher
from .support import RAY_INSTALL_HINT, rate, ray_available, require_ray

__all__ = ["ENGINES", "RAY_INSTALL_HINT", "LabelOptions", "LocalEngine", "get_engine", "rate", "ray_available", "require_ray"]

if TYPE_CHECKING:
    from ...augment.corpus import TokenizedCorpus
    from ...augment.store import SyntheticSink
    from ...augment.synthetic import SyntheticSet
    from .. import LabelResult
    from .ray_engine import RayEngine

ENGINES = ("local", "ray")


def get_engine(name: str = "local", ray_address: str | None = None, **options: Any) -> "LocalEngine | RayEngine":
    """The engine called ``name`` (``local`` or ``ray``).

    ``ray_address`` (``ray`` only) connects to an existing cluster (``auto``,
    ``ray://host:10001`` or ``host:6379``); without it a local Ray instance is started
    on this machine. ``options`` go to :class:`~kdtext.labelling.engine.ray_engine.RayEngine`
    (``num_cpus`` of the local instance, ``workers``, ``shards``, ``keep_alive``).
    """
    if name == "local":
        return LocalEngine()  # a ray_address (from a config file, say) has nothing to do here
    if name == "ray":
        require_ray()
        from .ray_engine import RayEngine

        return RayEngine(address=ray_address, **options)
    raise ConfigError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")


class LocalEngine:
    """Everything in this process: what kdtext always did."""

    name = "local"

    @contextlib.contextmanager
    def session(self) -> Iterator["LocalEngine"]:
        yield self

    def augment(
        self, corpus: "TokenizedCorpus", augmenter: Any, n: int | None, *, seed: int = 0, sink: "SyntheticSink | None" = None
    ) -> tuple["SyntheticSet | None", dict[str, Any]]:
        """``augmenter.augment(corpus, n, seed=seed)`` and its throughput figures.

        With ``sink`` (a :class:`kdtext.augment.store.SyntheticSink`) the examples go to it
        part by part as the augmenter makes them (:meth:`kdtext.Augmenter.augment_parts`),
        and None is returned in place of the set.
        """
        from ...augment.rounds import run_augmenter, run_augmenter_parts

        started = time.perf_counter()
        synthetic = None
        if sink is None:
            synthetic = run_augmenter(augmenter, corpus, n, seed=seed)
            made = len(synthetic)
        else:
            before = sink.examples
            for part in run_augmenter_parts(augmenter, corpus, n, seed=seed):
                sink.add(part)
            made = sink.examples - before
        seconds = time.perf_counter() - started
        return synthetic, {
            "engine": "local",
            "workers": 1,
            "seconds": round(seconds, 3),
            "examples_per_second": rate(made, seconds),
        }

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
    ) -> tuple["LabelResult", dict[str, Any]]:
        """:func:`~kdtext.labelling.label_with_teacher` in this process, and its throughput figures.

        ``options`` (or loose keyword arguments, the same names) say how to label: see
        :class:`~kdtext.labelling.LabelOptions`; ``progress``, ``logits``, ``where`` and
        ``label_space`` go to :func:`~kdtext.labelling.label_with_teacher`. ``model_path`` and
        ``teacher_name`` are what the Ray engine's workers load the teacher from; the
        local engine uses ``teacher`` itself.
        """
        result = label_with_teacher(
            teacher, texts, ids, options=LabelOptions.from_kwargs(options, **kwargs), progress=progress, logits=logits, where=where,
            label_space=label_space,
        )  # fmt: skip
        return result, {
            "engine": "local",
            "workers": 1,
            "seconds": round(result.seconds, 3),
            "examples_per_second": rate(result.n_computed, result.seconds),
        }
