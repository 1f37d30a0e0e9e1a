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
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from ...errors import ConfigError
from .. import LabelOptions, label_with_teacher
from .support import RAY_INSTALL_HINT, rate, ray_available, require_ray

__all__ = [
    "ENGINES", "RAY_INSTALL_HINT", "EngineTeacher", "LabelOptions", "LocalEngine", "get_engine", "rate", "ray_available", "require_ray",
]  # fmt: skip

if TYPE_CHECKING:
    from ...augment.corpus import TokenizedCorpus
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

    def close(self) -> None:
        pass

    def augment(self, corpus: "TokenizedCorpus", augmenter: Any, n: int | None, *, seed: int = 0) -> tuple["SyntheticSet", dict[str, Any]]:
        """``augmenter.augment(corpus, n, seed=seed)`` and its throughput figures."""
        started = time.perf_counter()
        synthetic = augmenter.augment(corpus, n, seed=seed)
        seconds = time.perf_counter() - started
        return synthetic, {
            "engine": "local",
            "workers": 1,
            "seconds": round(seconds, 3),
            "examples_per_second": rate(len(synthetic), seconds),
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
        **kwargs: Any,
    ) -> tuple["LabelResult", dict[str, Any]]:
        """``teacher.label(texts|ids, **options)`` and its throughput figures.

        ``options`` (or loose keyword arguments, the same names) say how to label: see
        :class:`~kdtext.labelling.LabelOptions`. ``model_path`` and ``teacher_name``
        are what the Ray engine's workers load the teacher from; the local engine uses
        ``teacher`` itself.
        """
        result = label_with_teacher(teacher, texts, ids, options=LabelOptions.from_kwargs(options, **kwargs), progress=progress)
        return result, {
            "engine": "local",
            "workers": 1,
            "seconds": round(result.seconds, 3),
            "examples_per_second": rate(result.n_computed, result.seconds),
        }


class EngineTeacher:
    """A teacher whose ``label`` runs on an engine; every other attribute is the teacher's own.

    Any teacher works, with or without a ``label`` of its own (the Ray engine's workers
    then call ``predict_proba``). ``figures`` collects the engine's figures of each
    ``label`` call (for the report).
    """

    def __init__(self, teacher: Any, engine: Any, *, model_path: Any, teacher_name: str):
        self._teacher = teacher
        self._engine = engine
        self._model_path = model_path
        self._teacher_name = teacher_name
        self.figures: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._teacher, name)

    def label(self, texts: Sequence[str] | None = None, ids: Any = None, *, progress: Any = False, **options: Any) -> "LabelResult":
        result, figures = self._engine.label(
            self._teacher, texts, ids, options=LabelOptions.from_kwargs(**options),
            model_path=self._model_path, teacher_name=self._teacher_name, progress=bool(progress),
        )  # fmt: skip
        self.figures.append(figures)
        return result
