"""The interfaces that plugins implement: Teacher, Augmenter, Student and Tagger.

A plugin subclasses one of these and registers the class by name through a
``register_*`` hook (see :mod:`kdtext.hookspecs`). Each base class is the whole
contract of its plugin type: what kdtext calls, with which arguments, what it must
return, and which optional capabilities exist (class attributes with their defaults).

Parameters, one convention for teachers, augmenters and students: the class attribute
``defaults`` maps every parameter name to its default; ``cls(**params)`` builds one
from a config file or ``--param`` flags, and the base ``__init__`` stores
``self.params = {**defaults, **params}`` after :func:`resolve_params` has refused any
name not in ``defaults`` (one :class:`~kdtext.errors.ConfigError` listing the valid
ones). A subclass that checks types or ranges calls ``super().__init__(**params)``
first and then checks ``self.params``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from .augment.corpus import TokenizedCorpus
    from .augment.synthetic import SyntheticSet
    from .data import Dataset
    from .labels import LabelSpace


#: Where :meth:`Teacher.word_vectors` may take a word's vector from: the finetuned teacher
#: reading the word alone, or its input embedding table.
WORD_VECTOR_SOURCES = ("encoder", "embeddings")


def directory_size(path: str | os.PathLike) -> int:
    """Bytes on disk of every file under ``path`` (or of ``path`` itself if a file)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def plugin_label(cls: type) -> str:
    """``"student 'tfidf-logreg'"``: how messages name a plugin class (kind and name)."""
    kind = getattr(cls, "kind", "plugin")
    return f"{kind} {getattr(cls, 'name', '') or cls.__name__!r}"


def resolve_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``{**cls.defaults, **params}``; a name not in ``cls.defaults`` is one ConfigError.

    The one parameter check of every teacher, augmenter and student: the message names
    the plugin, the unknown parameter(s) and the valid ones. ``defaults`` must be a
    dict (a method or anything else is a :class:`~kdtext.errors.PluginError`).
    """
    from .errors import ConfigError, PluginError

    defaults = getattr(cls, "defaults", None)
    if not isinstance(defaults, dict):
        raise PluginError(
            f"{plugin_label(cls)}: `defaults` must be a class attribute dict of parameter name -> default, "
            f"not {type(defaults).__name__}"
        )
    unknown = set(params) - set(defaults)
    if unknown:
        raise ConfigError(
            f"{plugin_label(cls)} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"its parameters: {', '.join(sorted(defaults)) or 'none'}"
        )
    return {**defaults, **params}


class Plugin:
    """What teachers, augmenters and students share: a name, a kind and their parameters."""

    #: "teacher", "augmenter" or "student" (set by the base classes; used in messages).
    kind: ClassVar[str] = "plugin"
    #: Name under which the class is registered (for messages and metadata).
    name: ClassVar[str] = ""
    #: Every parameter with its default value. Only these names are accepted.
    defaults: ClassVar[dict[str, Any]] = {}
    #: The resolved parameters of an instance (``{**defaults, **given}``).
    params: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, **params: Any):
        self.params = resolve_params(type(self), params)


class Teacher(Plugin, ABC):
    """A large, accurate classifier whose probabilities the student learns from.

    **What kdtext calls** (``kdtext run``, ``train-teacher``, ``label``):

    ============================  ===============================================================
    ``from_config(model, seed,    builds the teacher that ``kdtext run`` fits (classmethod; the
    **params)``                   default passes ``model`` -- the ``--teacher-model`` -- only if
                                  ``"model"`` is in ``defaults``, ``seed`` only if ``"seed"`` is)
    ``default_model()``           the ``model`` when ``--teacher-model`` is not given (default
                                  None: it must be given); only if ``"model"`` is in ``defaults``
    ``is_saved(path)``            True if ``path`` holds a teacher :meth:`save` wrote: ``run``
                                  then calls :meth:`load` instead of ``from_config`` + ``fit``
    ``fit(train, dev)``           train on gold data (``dev`` may be None); returns a dict of
                                  JSON-ready figures for the report; sets ``label_space``
    ``predict_proba(texts)``      float32 ``(len(texts), n_labels)`` in ``label_space`` order;
                                  rows sum to 1 unless multi-label (checked by kdtext)
    ``save(path)`` / ``load``     a directory that ``load`` (classmethod) reads back
    ``check_labels(space)``       after ``load`` in ``run``: the data's labels must match
    ============================  ===============================================================

    **Optional capabilities** (class attributes and methods with defaults here):

    ============================  ===============================================================
    ``trainable``                 True: ``fit`` learns from the gold data; False: it only adopts
                                  the label space, and the report says it was not finetuned
    ``run_unsupported``           a one-line reason why ``kdtext run`` cannot use this teacher
                                  ("" if it can): ``run`` refuses it before any work
    ``label``                     None, or a batch labeller ``label(texts=None, ids=None, *,
                                  cache_dir=None, device=None, batch_tokens=None, quantize=None,
                                  progress=True, ...)`` returning an object with ``probs``,
                                  ``n_truncated`` and ``n_cached``, as
                                  :class:`kdtext.labelling.LabelResult`: when set, ``kdtext run``
                                  and ``kdtext label`` call it (with a label cache) instead of
                                  ``predict_proba``; it is given only the options a run sets
    ``gives_representations``     True: ``label(..., representations=True)`` also returns the
                                  teacher's sentence representation of each example, from the
                                  same forward pass (``LabelResult.representations``, float16
                                  ``(n, dims)``; the built-in teacher: the mean of its last
                                  hidden states over the example's tokens), cached with the
                                  probabilities. Default False: it is never asked
    ``input_ids(synthetic)``      the teacher's input ids of every example of a synthetic set,
                                  made from its word arrays without tokenizing its texts; ``run``
                                  then labels them with ``label(ids=...)``. Default None: the
                                  texts are labelled
    ``vocabulary()``              whole words the teacher knows; the distilled student gets word
                                  vectors for them too. Default: none
    ``word_vectors(words, *,      ``(words kept, float (n, dims) vectors)`` for the distilled
    source, device, progress)``   student (``source`` is one of :data:`WORD_VECTOR_SOURCES`;
                                  kdtext reduces them with PCA); default None: no vectors
    ``device()``                  where the teacher computes: ``"cpu"``, ``"cuda"``,
                                  ``"cuda:N"`` or ``"auto"``; ``--engine ray`` gives each worker
                                  a GPU unless it is ``"cpu"``. Default: the ``device``
                                  parameter where ``"device"`` is in ``defaults``, else ``"cpu"``
    ``mask_token``                the token the teacher reads as "a word is hidden here" (None)
    ``predict_logits(texts)``     raw scores before softmax/sigmoid (default: NotImplementedError)
    ``fingerprint()``             a string that changes whenever the outputs could (label caches)
    ``size_bytes()``              bytes on disk of the saved teacher (None: unknown)
    ============================  ===============================================================
    """

    kind: ClassVar[str] = "teacher"
    #: Whether ``fit`` learns from the gold data (False: it only adopts the label space).
    trainable: ClassVar[bool] = True
    #: Why ``kdtext run`` cannot use this teacher ("": it can); ``run`` stops with this line.
    run_unsupported: ClassVar[str] = ""
    #: Optional batch labeller with a cache (see the class docstring); None: ``predict_proba``.
    label: Callable[..., Any] | None = None
    #: ``label(..., representations=True)`` also returns each example's sentence representation.
    gives_representations: ClassVar[bool] = False
    label_space: "LabelSpace | None" = None

    @classmethod
    def from_config(cls, model: str | None = None, seed: int = 0, **params: Any) -> "Teacher":
        """The unfitted teacher that ``kdtext run`` builds from its settings.

        ``model`` is ``--teacher-model`` (or ``teacher_model`` in the TOML file): it is
        passed as the ``model`` parameter if ``"model"`` is in ``defaults``, and a
        :class:`~kdtext.errors.ConfigError` otherwise. ``seed`` is the run's seed, passed
        if ``"seed"`` is in ``defaults``. ``params`` are ``--teacher-param`` values and win
        over both. Override to build the teacher another way.
        """
        from .errors import ConfigError

        params = dict(params)
        if model is not None:
            if "model" not in cls.defaults:
                raise ConfigError(f"{plugin_label(cls)} takes no model; leave out --teacher-model")
            params.setdefault("model", model)
        if "seed" in cls.defaults:
            params.setdefault("seed", seed)
        return cls(**params)

    @classmethod
    def default_model(cls) -> str | None:
        """The ``model`` that ``kdtext run`` uses without ``--teacher-model`` (None: it must be given).

        Asked only of teachers with ``"model"`` in ``defaults``.
        """
        return None

    @classmethod
    def is_saved(cls, path: str | os.PathLike) -> bool:
        """True if ``path`` holds a teacher written by :meth:`save` (``kdtext run`` then only loads it)."""
        return False

    @property
    def mask_token(self) -> str | None:
        """The token the teacher was pretrained to read as "a word is hidden here", if any."""
        return None

    @abstractmethod
    def fit(self, train: "Dataset", dev: "Dataset | None" = None) -> dict[str, Any]:
        """Train on gold data (early-stopping on ``dev``); returns figures for the report."""

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)``; rows sum to 1 unless multi-label."""

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores before softmax/sigmoid, where the teacher has them."""
        raise NotImplementedError(f"teacher {self.name!r} does not expose logits")

    def check_labels(self, label_space: "LabelSpace", where: str = "the data") -> None:
        """Raise :class:`~kdtext.errors.ModelError` unless the teacher predicts ``label_space``."""
        from .errors import ModelError

        if self.label_space is not None and self.label_space != label_space:
            raise ModelError(
                f"teacher {self.name!r} predicts {list(self.label_space.labels)} ({self.label_space.task}), "
                f"but {where} has {list(label_space.labels)} ({label_space.task})"
            )

    @abstractmethod
    def save(self, path: str | os.PathLike) -> None:
        """Write the teacher to a directory that :meth:`load` reads back."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike) -> "Teacher":
        """Read a teacher written by :meth:`save`."""

    def fingerprint(self) -> str:
        """A string that changes whenever the teacher's outputs could change (cache key)."""
        raise NotImplementedError

    def size_bytes(self) -> int | None:
        """Bytes on disk of the saved teacher, where known."""
        return None

    def device(self) -> str:
        """Where the teacher computes: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).

        ``--engine ray`` gives each labelling worker a GPU unless this is ``"cpu"`` (or the
        run says ``--device cpu``). Default: the ``device`` parameter where ``"device"`` is
        in ``defaults``, else ``"cpu"``.
        """
        if "device" in type(self).defaults:
            return str(self.params.get("device") or "auto")
        return "cpu"

    def input_ids(self, synthetic: "SyntheticSet") -> "Sequence[Sequence[int] | np.ndarray] | None":
        """The teacher's input ids of every example of ``synthetic``, in order, made from its
        word arrays without tokenizing its texts (``label(ids=...)`` labels them).

        Default None: kdtext labels the texts. A teacher offers this only with ``label``.
        """
        return None

    def vocabulary(self) -> list[str]:
        """Whole words the teacher knows (the built-in teacher: its tokenizer's); the distilled
        student gets word vectors for them too, so words that no text of the run has still
        have one. Default: none."""
        return []

    def word_vectors(
        self,
        words: Sequence[str],
        *,
        source: str = "encoder",
        device: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> "tuple[list[str], np.ndarray] | None":
        """``(kept, vectors)``: a vector per word the teacher can embed, float ``(len(kept), dims)``.

        ``source`` is one of :data:`WORD_VECTOR_SOURCES` (``"encoder"``: what the
        finetuned teacher makes of the word read alone; ``"embeddings"``: its input
        embedding table); ``device`` where to compute (None: :meth:`device`);
        ``progress(k)`` after each batch of ``k`` words. kdtext reduces the vectors to a
        few dozen dimensions with PCA and gives them to the distilled student. Default
        None: the teacher gives none (the student trains without).
        """
        return None


class Augmenter(Plugin, ABC):
    """Turns a tokenized corpus into synthetic examples, reproducibly for a given seed.

    **What kdtext calls**: ``cls(**params)`` (names from ``defaults``; ``kdtext run``
    also passes ``mask_token`` -- the teacher's -- and ``n_iter`` when they are in
    ``defaults`` and not given), then ``augment(corpus, n, seed=seed)``, which returns a
    :class:`~kdtext.augment.SyntheticSet` of at most ``n`` examples (checked by
    :func:`kdtext.augment.run_augmenter`: more is an error naming the plugin). ``n`` is a whole
    number >= 0: without ``--n``, ``kdtext augment`` asks for one example per source
    text (``corpus.n_docs``). Only an augmenter that works in rounds -- one with
    ``n_iter`` in ``defaults`` -- is given ``n=None`` there, meaning "all that
    ``n_iter`` rounds give".

    **Optional capabilities**: ``needs_tags`` (does this configured augmenter read the
    corpus's POS tags? the corpus is tagged only if some augmenter does; default
    ``requires_tags``; a property or a plain class attribute); ``requires_tags`` (tags
    are indispensable: a language without a tagger is an error; default False);
    ``needs_sentences`` (does it read the corpus's sentence starts? default True; the
    integrations of :mod:`kdtext.integrations` skip sentence splitting for augmenters that
    say False); ``shardable`` (its output on shards of the corpus merges into its output on the
    whole corpus, so ``--engine ray`` may split it; default False); ``uses_doc_keys``
    (when ``corpus.doc_keys`` is set, document ``d``'s examples are drawn from a stream
    seeded by ``(seed, doc_keys[d])`` alone, not by its position: the integrations of
    :mod:`kdtext.integrations` then augment a whole batch in one call; default False:
    they call ``augment`` once per text, on a one-document corpus, with a seed derived
    from the text); ``augment_parts`` (the set in parts as they are made, which ``kdtext
    run`` and ``kdtext augment`` write to disk one at a time; default: one part).
    """

    kind: ClassVar[str] = "augmenter"
    #: The corpus must carry POS tags (a missing tagger is then an error).
    requires_tags: ClassVar[bool] = False
    #: Output on corpus shards merges into the output on the whole corpus (Ray may split it).
    shardable: ClassVar[bool] = False
    #: Seeds each document from ``corpus.doc_keys`` when it is set (batch-independent output).
    uses_doc_keys: ClassVar[bool] = False

    @property
    def needs_tags(self) -> bool:
        """Whether this augmenter, as configured, reads POS tags (default: ``requires_tags``)."""
        return self.requires_tags

    @property
    def needs_sentences(self) -> bool:
        """Whether this augmenter, as configured, reads sentence starts (default True)."""
        return True

    @abstractmethod
    def augment(self, corpus: "TokenizedCorpus", n: int, *, seed: int = 0) -> "SyntheticSet":
        """Up to ``n`` synthetic examples made from ``corpus``; the same seed gives the same set."""

    def augment_parts(self, corpus: "TokenizedCorpus", n: int, *, seed: int = 0) -> Iterator["SyntheticSet"]:
        """The examples of :meth:`augment` in parts, as they are made, for writing them away as they come.

        ``SyntheticSet.concat(list(parts))`` must equal ``augment(corpus, n, seed=seed)``.
        ``kdtext run`` and ``kdtext augment`` write each part to disk before asking for the
        next, so a set of a million examples never sits in memory whole. Default: one part,
        the whole set; the built-in augmenters give one part per round.
        """
        yield self.augment(corpus, n, seed=seed)


@dataclass
class FitResult:
    """What :meth:`Student.fit` returns: the figures of one training run.

    ``dev_metric`` names the dev score used for model selection (e.g. ``"accuracy"``,
    ``"macro_f1"``); ``best_dev_score`` is its best value, reached at ``best_step`` of
    ``steps`` optimisation steps (a model without steps reports 1 and 1);
    ``train_seconds`` is wall time; ``curve`` has one dict per dev evaluation with at
    least ``step`` and ``dev_score``; ``extra`` holds anything else, JSON-ready.
    """

    dev_metric: str
    best_dev_score: float
    best_step: int
    steps: int
    train_seconds: float
    curve: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    #: The fields a plain dict must have to be turned into a FitResult.
    REQUIRED: ClassVar[tuple[str, ...]] = ("dev_metric", "best_dev_score", "best_step", "steps", "train_seconds")

    def as_dict(self) -> dict[str, Any]:
        """One flat JSON-ready dict: ``extra``'s entries, then the named fields (which win)."""
        named = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**self.extra, **named}

    def __getitem__(self, key: str) -> Any:
        """``result["steps"]``: a FitResult reads like the dict of :meth:`as_dict`."""
        return self.as_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.as_dict().get(key, default)

    @classmethod
    def coerce(cls, value: Any, *, student: str = "student") -> "FitResult":
        """``value`` as a FitResult: itself, or a dict with the required keys (others go to ``extra``).

        Anything else, a missing key or a value of the wrong type is one
        :class:`~kdtext.errors.StudentOutputError` naming ``student`` (e.g. ``"student 'x'"``).
        """
        from .errors import StudentOutputError

        if isinstance(value, cls):
            data = {**asdict(value)}
            extra = data.pop("extra") or {}
        elif isinstance(value, Mapping):
            missing = [key for key in cls.REQUIRED if key not in value]
            if missing:
                raise StudentOutputError(
                    f"{student}: fit() returned a dict without {', '.join(missing)}; "
                    f"return kdtext.FitResult({', '.join(cls.REQUIRED)}, curve=..., extra=...)"
                )
            data = {key: value[key] for key in (*cls.REQUIRED, "curve") if key in value}
            extra = {key: v for key, v in value.items() if key not in data and key != "extra"}
            extra.update(value.get("extra") or {})
        else:
            raise StudentOutputError(
                f"{student}: fit() returned {type(value).__name__}, not a kdtext.FitResult "
                f"({', '.join(cls.REQUIRED)}, curve, extra)"
            )

        def bad(key: str, wanted: str) -> StudentOutputError:
            return StudentOutputError(f"{student}: fit() returned {key}={data[key]!r}; it must be {wanted}")

        if not isinstance(data["dev_metric"], str) or not data["dev_metric"]:
            raise bad("dev_metric", "the name of the dev score, e.g. 'accuracy'")
        for key in ("best_dev_score", "train_seconds"):
            if isinstance(data[key], bool) or not isinstance(data[key], (int, float, np.number)):
                raise bad(key, "a number")
            data[key] = float(data[key])
        for key in ("best_step", "steps"):
            if isinstance(data[key], bool) or not isinstance(data[key], (int, np.integer)) or data[key] < 0:
                raise bad(key, "a whole number >= 0")
            data[key] = int(data[key])
        curve = data.get("curve") or []
        if not isinstance(curve, list) or not all(isinstance(point, Mapping) for point in curve):
            raise StudentOutputError(f"{student}: fit() returned a curve that is not a list of dicts (step, dev_score, ...)")
        data["curve"] = [dict(point) for point in curve]
        if not isinstance(extra, Mapping):
            raise StudentOutputError(f"{student}: fit() returned extra={extra!r}; it must be a dict")
        return cls(**data, extra=dict(extra))


class Student(Plugin, ABC):
    """The small, fast model that is trained on gold and soft labels and then deployed.

    **What kdtext calls** (``kdtext run``, ``train-student``, ``evaluate``, ``package``):

    ===========================  ================================================================
    ``cls(**params)``            names from ``defaults``; ``kdtext run`` adds ``lang`` (the run's
                                 language) only if ``"lang"`` is in ``defaults``, and ``vectors``
                                 (path to an ``.npz`` of the teacher's word vectors, see
                                 :func:`kdtext.students.vectors.load_vectors`; distilled student only)
                                 only if ``"vectors"`` is in ``defaults``
    ``fit(train, dev,            train on gold ``train`` plus soft ``transfer`` (None: the
    transfer=None, *, seed=0)``  baseline), select on ``dev``; returns a :class:`FitResult`;
                                 sets ``label_space`` (else kdtext sets it from ``train``)
    ``predict_proba(texts)``     float32 ``(len(texts), n_labels)`` in ``label_space`` order,
                                 in [0, 1], rows summing to 1 unless multi-label: checked on a
                                 few dev examples right after ``fit``
    ``save(path)``               write the model to directory ``path`` (create it); kdtext
                                 then writes ``kdtext_student.json`` beside it (name, label
                                 space, params, figures, versions): do not write that file
    ``load(path)`` (classmethod) read what ``save`` wrote; ``kdtext.students.read_student_meta(path)``
                                 gives the metadata (``params``, ``label_space``) if needed;
                                 a ``label_space`` left None is set by kdtext
    ===========================  ================================================================

    **Optional capabilities**: ``size_bytes()`` (default: bytes of a :meth:`save`);
    ``is_spacy_pipeline`` (True: the saved folder is a spaCy pipeline, which ``kdtext
    package`` turns into a spaCy package; default False: a plain Python package whose
    ``load()`` calls :func:`kdtext.students.load_student`); ``runtime_requires`` and
    ``runtime_module`` (set both, for a student that is not a spaCy pipeline, to ship
    without kdtext: ``runtime_module`` names a module whose source file imports no kdtext
    and nothing relative, and defines ``load(path)`` -> an object with
    ``predict_proba(texts)`` (rows in ``label_space`` order) for the folder ``save`` wrote;
    ``runtime_requires`` lists the pip requirements that module needs. ``kdtext package``
    then copies that file into the package, which requires exactly ``runtime_requires``;
    default None: the package requires kdtext and the plugin's distribution);
    ``prepare_spacy_package(model_dir)`` (what the spaCy package needs beyond the saved
    pipeline; default: nothing). ``progress_label``: what kdtext calls this student while it
    trains (``"baseline student"``, ``"distilled student"``), set before ``fit``; a student
    that shows progress should use it.
    """

    kind: ClassVar[str] = "student"
    #: What progress bars and messages call this student during ``fit`` (set by kdtext; None: "student").
    progress_label: str | None = None
    #: The saved folder is a spaCy pipeline (``spacy.load`` reads it; ``package`` uses spaCy's).
    is_spacy_pipeline: ClassVar[bool] = False
    #: What inference needs, as pip requirements (e.g. ``("scikit-learn>=1.2", "joblib")``); with ``runtime_module``.
    runtime_requires: ClassVar["tuple[str, ...] | None"] = None
    #: A module (dotted name) with ``load(path)`` that loads a saved student without kdtext; with ``runtime_requires``.
    runtime_module: ClassVar["str | None"] = None
    label_space: "LabelSpace | None" = None

    @abstractmethod
    def fit(
        self,
        train: "Dataset",
        dev: "Dataset",
        transfer: "Dataset | None" = None,
        *,
        seed: int = 0,
    ) -> FitResult:
        """Train on gold ``train`` plus soft-labelled ``transfer`` (if any), early-stopping on ``dev``.

        Without ``transfer`` this trains the baseline student. Returns a :class:`FitResult`
        (a dict with the same keys is accepted).
        """

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)``."""

    @abstractmethod
    def save(self, path: str | os.PathLike) -> None:
        """Write the model to directory ``path``; kdtext adds ``kdtext_student.json``."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike) -> "Student":
        """Read a student written by :meth:`save`."""

    @classmethod
    def prepare_spacy_package(cls, model_dir: Path) -> list[Path]:
        """For a spaCy student: adjust ``model_dir``, the copy of a saved student that ``kdtext
        package`` turns into a spaCy package; return the Python modules the package ships. Each
        is imported (with spaCy alone) when the package is, before its pipeline is made, so it
        can register functions that the copy's config names. Default: no change, no module."""
        return []

    def size_bytes(self) -> int:
        """Bytes on disk of the saved model."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            self.save(Path(tmp) / "student")
            return directory_size(Path(tmp) / "student")


class Tagger(ABC):
    """Part-of-speech tags for pre-tokenized words, for same-POS word replacement."""

    name: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def languages(cls) -> list[str]:
        """ISO codes of the languages this tagger can tag in the current environment."""

    @abstractmethod
    def __init__(self, lang: str):
        ...

    @abstractmethod
    def tag(self, words: Sequence[str]) -> list[str]:
        """One tag per word (Universal POS tags where possible)."""

    def tag_many(self, docs: Sequence[Sequence[str]]) -> Iterator[list[str]]:
        """Tags for many documents; override to batch."""
        for words in docs:
            yield self.tag(words)
