"""The built-in students: spaCy text classifiers trained on gold and soft labels.

``spacy-cnn``
    spaCy's text-classifier ensemble (``spacy.TextCatEnsemble.v2``): a bag-of-words
    linear model stacked with a CNN over hashed token embeddings.
``spacy-bow``
    the bag-of-words (n-gram) linear model alone (``spacy.TextCatBOW.v3``): the fastest.

(``spacy-fast``, the default, is in :mod:`kdtext.default_plugins.spacy.fast`.) They train with
the ``kdtext_soft_textcat`` component (:mod:`kdtext.default_plugins.spacy.soft_textcat`), which accepts soft
targets, and are saved naming spaCy's stock ``textcat`` component instead, so a saved
student is an ordinary spaCy pipeline directory that ``spacy.load`` reads where spaCy
alone is installed, plus the ``kdtext_student.json`` that kdtext writes beside it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from ...base import FitResult, Student, directory_size
from ...data import SUM_TOLERANCE, Dataset
from ...errors import ConfigError, DataError, ModelError
from ...io import building_directory
from ...labels import LabelSpace
from ...students.metadata import META_FILE, read_student_meta
from .batches import DatasetExamples, MappedRows, in_memory, weigh
from .training import TrainingSettings, make_docs, make_examples, predict_docs, train_textcat

if TYPE_CHECKING:
    from spacy.language import Language

COMPONENT = "textcat"

#: Training and inference parameters shared by every spaCy student: name -> default.
COMMON_DEFAULTS: dict[str, Any] = {
    "lang": "en",
    "batch_size": 32,
    "learn_rate": 0.001,
    "l2": 0.01,
    "grad_clip": 1.0,
    "dropout": 0.2,
    "max_epochs": 30,
    "max_steps": 0,
    "eval_every": 0,
    "patience": 10,
    "gold_repeats": 1,
    "loss": "mse",
    "temperature": 1.0,
    "predict_batch_size": 256,
    "progress": True,
    "random_output_init": False,
    # representation targets (see .representation): weight 0 turns them off
    "rep_weight": 0.0,
    "rep_dims": 128,
    # rare classes: 0 = every example counts once, 1 = classes weigh as if equally frequent
    "balance": 0.0,
}

_INT_PARAMS = {
    "batch_size": 1, "max_epochs": 1, "max_steps": 0, "eval_every": 0, "patience": 0, "gold_repeats": 0,
    "predict_batch_size": 1, "width": 1, "depth": 1, "embed_size": 1, "window_size": 1, "maxout_pieces": 1,
    "ngram_size": 1, "bow_length": 1, "rep_dims": 1,
}
_FLOAT_PARAMS = {
    "learn_rate": (0.0, None), "l2": (0.0, None), "grad_clip": (0.0, None), "dropout": (0.0, 1.0), "temperature": (0.0, None),
    "rep_weight": (0.0, None), "balance": (0.0, None),
}


def _checked(student: str, key: str, value: Any) -> Any:
    """One parameter value, converted and range-checked; ConfigError names it."""
    if key in _INT_PARAMS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"student {student!r}: parameter {key!r} must be an integer, got {value!r}")
        if value < _INT_PARAMS[key]:
            raise ConfigError(f"student {student!r}: parameter {key!r} must be at least {_INT_PARAMS[key]}, got {value!r}")
        return int(value)
    if key in _FLOAT_PARAMS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ConfigError(f"student {student!r}: parameter {key!r} must be a number, got {value!r}")
        low, high = _FLOAT_PARAMS[key]
        if value < low or (high is not None and value >= high) or (key == "temperature" and value <= 0):
            raise ConfigError(f"student {student!r}: parameter {key!r} is out of range: {value!r}")
        return float(value)
    if key in ("progress", "random_output_init"):
        if not isinstance(value, bool):
            raise ConfigError(f"student {student!r}: parameter {key!r} must be true or false, got {value!r}")
        return value
    if key == "loss":
        if value not in ("mse", "kl", "logits"):
            raise ConfigError(f"student {student!r}: parameter 'loss' must be 'mse', 'kl' or 'logits', got {value!r}")
        return value
    if key == "lang":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"student {student!r}: parameter 'lang' must be a language code, got {value!r}")
        return value
    return value


class SpacyStudent(Student):
    """A spaCy text classifier as student; subclasses choose the architecture.

    Parameters (keyword arguments, all optional): ``lang`` (spaCy language code for
    ``spacy.blank``), ``batch_size``, ``learn_rate``, ``l2``, ``grad_clip``, ``dropout``,
    ``max_epochs``, ``max_steps`` (0: no limit), ``eval_every`` (steps, and at least once an
    epoch; 0: once per epoch, at most every 500 steps), ``patience`` (evaluations without dev
    improvement before stopping; 0: never stop early and keep the last weights),
    ``gold_repeats`` (times each gold example is seen per epoch), ``loss`` (``"mse"`` or ``"kl"``), ``temperature`` (for ``"kl"``), ``predict_batch_size``,
    ``progress`` (a bar on stderr), ``random_output_init`` (give the ensemble's
    zero-initialised softmax output random weights, see :func:`_break_output_symmetry`;
    off by default, as in spaCy), ``rep_weight`` and ``rep_dims`` (representation targets:
    with a weight above 0 the student also learns the teacher's sentence representations of
    the transfer set, ``Dataset.reps``, PCA-reduced to ``rep_dims``; see
    :mod:`.representation`; a transfer set without them is an error), ``balance`` (lift
    classes that are rare in the training signal: each example is weighted by ``(1 / (k *
    share of its class)) ** balance``, the share taken from the transfer set's teacher
    labels, or the gold labels without one; 0 turns it off; see
    :func:`.soft_textcat.class_balance_weights`), plus the
    architecture's own (see subclasses).

    Defaults (``l2`` 0.01, ``dropout`` 0.2, ``patience`` 10, bag-of-words unigrams) were
    chosen on the Rotten Tomatoes dev split of ``benchmarks/student.py``.
    """

    name: ClassVar[str] = ""
    #: Architecture parameters and their defaults (subclasses fill this in).
    model_defaults: ClassVar[dict[str, Any]] = {}

    #: Every parameter with its default value: COMMON_DEFAULTS + model_defaults (set per subclass).
    defaults: ClassVar[dict[str, Any]] = dict(COMMON_DEFAULTS)
    is_spacy_pipeline: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "defaults" not in cls.__dict__:
            cls.defaults = {**COMMON_DEFAULTS, **cls.model_defaults}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.params: dict[str, Any] = {key: _checked(self.name, key, value) for key, value in self.params.items()}
        self.label_space: LabelSpace | None = None
        self.nlp: "Language | None" = None
        self.figures: dict[str, Any] = {}

    # -- the model ---------------------------------------------------------------------

    def model_config(self, multilabel: bool) -> dict[str, Any]:
        """The thinc model config of the text categorizer (spaCy registry names)."""
        raise NotImplementedError

    def _build(self, label_space: LabelSpace) -> "Language":
        import spacy

        from . import soft_textcat as spacy_soft  # noqa: F401  (registers the factory)

        try:
            nlp = spacy.blank(self.params["lang"])
        except Exception as exc:  # spaCy raises ImportError/ValueError for unknown languages
            raise ConfigError(f"spaCy cannot make a tokenizer for language {self.params['lang']!r}: {exc}") from None
        nlp.add_pipe(
            spacy_soft.FACTORY_NAME,
            name=COMPONENT,
            config={
                "model": self.model_config(label_space.multilabel),
                "multilabel": label_space.multilabel,
                "threshold": 0.5,
                "loss": self.params["loss"],
                "temperature": self.params["temperature"],
            },
        )
        if self.params.get("vectors"):
            _set_vectors(nlp, self.params["vectors"])
        nlp.meta["name"] = "kdtext_student"
        nlp.meta["version"] = "1.0.0"
        nlp.meta["description"] = f"kdtext {self.name} student: {label_space.task} text classifier over {', '.join(label_space.labels)}"
        return nlp

    # -- training ----------------------------------------------------------------------

    def fit(self, train: Dataset, dev: Dataset, transfer: Dataset | None = None, *, seed: int = 0) -> FitResult:
        """Train on gold ``train`` (+ soft ``transfer``), early-stopping on ``dev``; returns figures.

        Figures: ``steps``, ``epochs``, ``best_step``, ``best_dev_score``, ``dev_metric``,
        ``train_seconds``, ``n_gold``, ``n_transfer``, ``examples_per_second``,
        ``stopped`` and ``curve`` (one entry per dev evaluation: step, epoch, examples,
        seconds, loss, dev_score).
        """
        from spacy.util import fix_random_seed

        space = train.label_space
        _check_dataset(train, space, "training data")
        _check_dataset(dev, space, "dev data")
        if transfer is not None:
            _check_dataset(transfer, space, "transfer data")
        if not len(train):
            raise DataError(train.source, None, "the training data has no examples")
        if not len(dev):
            raise DataError(dev.source, None, "the dev set is empty: early stopping needs dev examples")
        fix_random_seed(seed)
        nlp = self._build(space)
        labels = list(space.labels)
        from .soft_textcat import WEIGHT_KEY

        gold_weights, soft_weights = self._balance_weights(train, transfer)
        gold = make_examples(make_docs(nlp, train.texts, train.words, train.spaces), train.targets, labels)
        weigh(gold, gold_weights, WEIGHT_KEY)
        # a transfer set read off disk (lazy rows, memory-mapped targets) is turned into Docs a
        # batch at a time; one held in memory once, as the gold data
        soft = []
        if transfer is not None and len(transfer):
            soft = DatasetExamples(nlp, transfer, labels, keep=in_memory(transfer), weights=soft_weights, weight_key=WEIGHT_KEY)
        dev_docs = make_docs(nlp, dev.texts, dev.words, dev.spaces)
        # a sample of gold and transfer examples lets the model infer every dimension
        sample = gold[:10] + (soft.head(10) if soft else [])
        nlp.initialize(lambda: sample)
        if self.params.get("random_output_init", False):
            _break_output_symmetry(nlp.get_pipe(COMPONENT).model, seed)
        settings = TrainingSettings(
            **{key: self.params[key] for key in TrainingSettings.__dataclass_fields__}  # type: ignore[attr-defined]
        )
        representations = self._representations(nlp, train, transfer, seed)
        try:
            result = train_textcat(
                nlp, COMPONENT, gold, soft, dev_docs, dev.targets, settings,
                multilabel=space.multilabel, seed=seed, gold_repeats=self.params["gold_repeats"],
                representations=representations, label=self.progress_label or "student",
            )
        finally:
            if representations is not None:
                representations[0].remove()
        self.nlp, self.label_space = nlp, space
        self.figures = {**result.as_dict(), "seed": seed}
        return FitResult.coerce(self.figures, student=f"student {self.name!r}")

    def _balance_weights(self, train: Dataset, transfer: Dataset | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-example weights that rebalance rare classes, for the gold and the transfer rows (None: off)."""
        from .soft_textcat import class_balance_weights

        if self.params["balance"] <= 0:
            return None, None
        signal = transfer if transfer is not None and len(transfer) else train
        prior = np.asarray(signal.targets).mean(axis=0)
        gold = class_balance_weights(train.targets, prior, self.params["balance"])
        soft = None if transfer is None else class_balance_weights(transfer.targets, prior, self.params["balance"])
        return gold, soft

    def _representations(self, nlp: "Language", train: Dataset, transfer: Dataset | None, seed: int) -> Any:
        """``(loss, gold targets, transfer targets)`` when representation targets are on and available, else None."""
        if not self.params["rep_weight"]:
            return None
        if transfer is None or transfer.reps is None or not len(transfer):
            raise ConfigError(
                f"student {self.name!r}: rep_weight={self.params['rep_weight']} needs the teacher's sentence representations "
                "of the transfer set (Dataset.reps), and this transfer set has none (kdtext run collects them when rep_weight "
                "is above 0 and the teacher gives them: kdtext.Teacher.gives_representations): leave rep_weight at 0"
            )
        from .representation import RepresentationLoss, RepresentationTargets

        pca = RepresentationTargets(self.params["rep_dims"]).fit(transfer.reps, seed=seed)
        # a transfer set read off disk keeps its representations there: each batch's rows are reduced when read
        transfer_targets = pca.transform(transfer.reps) if in_memory(transfer) else MappedRows(transfer.reps, pca.transform, len(pca.components))
        if train.reps is not None:
            gold_targets = pca.transform(train.reps)
        else:
            gold_targets = np.full((len(train), len(pca.components)), np.nan, np.float32)
        loss = RepresentationLoss(nlp.get_pipe(COMPONENT), gold_targets.shape[1], self.params["rep_weight"], seed)
        return loss, gold_targets, transfer_targets

    # -- inference ---------------------------------------------------------------------

    def _require_model(self) -> "Language":
        if self.nlp is None or self.label_space is None:
            raise ModelError(f"student {self.name!r} is not trained: call fit() or load() first")
        from .empty_text import empty_text_safe

        return empty_text_safe(self.nlp)  # an empty text gets the uniform distribution, as from a package

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)`` in ``label_space`` order (via ``nlp.pipe``)."""
        nlp = self._require_model()
        labels = self.label_space.labels  # type: ignore[union-attr]
        out = np.zeros((len(texts), len(labels)), dtype=np.float32)
        for i, doc in enumerate(nlp.pipe(texts, batch_size=self.params["predict_batch_size"])):
            cats = doc.cats
            out[i] = [cats[label] for label in labels]
        return out

    def predict_dataset(self, dataset: Dataset) -> np.ndarray:
        """Like :meth:`predict_proba`, but builds Docs from ``dataset.words`` when it has them."""
        nlp = self._require_model()
        if dataset.words is None:
            return self.predict_proba(dataset.texts)
        docs = make_docs(nlp, dataset.texts, dataset.words, dataset.spaces)
        return predict_docs(nlp.get_pipe(COMPONENT), docs, self.params["predict_batch_size"])

    # -- persistence -------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the spaCy pipeline to directory ``path`` (kdtext adds ``kdtext_student.json``).

        The directory is written beside its final place and renamed into it, so an
        interrupted save leaves any earlier student at ``path`` intact.
        """
        nlp = self._require_model()
        with building_directory(path) as tmp:
            nlp.to_disk(tmp)
            _use_stock_components(tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SpacyStudent":
        """Read a student written by :meth:`save` and :func:`kdtext.students.save_student`.

        Parameters, label space and figures come from ``kdtext_student.json``.
        """
        import spacy

        meta = read_student_meta(path)
        student_cls = STUDENTS.get(meta.get("student", ""), cls)
        params = {k: v for k, v in (meta.get("params") or {}).items() if k in student_cls.defaults}
        student = student_cls(**params)
        try:
            student.nlp = spacy.load(path)
        except Exception as exc:
            raise ModelError(f"{path}: cannot load the spaCy pipeline: {exc}") from None
        if COMPONENT not in student.nlp.pipe_names:
            raise ModelError(f"{path}: the spaCy pipeline has no {COMPONENT!r} component")
        student.label_space = LabelSpace.from_json(meta["label_space"])
        if tuple(student.nlp.get_pipe(COMPONENT).labels) != student.label_space.labels:
            raise ModelError(f"{path}: the pipeline's labels disagree with {META_FILE}")
        student.figures = meta.get("figures") or {}
        return student

    @classmethod
    def prepare_spacy_package(cls, model_dir: Path) -> list[Path]:
        """The package ships :mod:`.empty_text` and its config names its callback, so the installed
        package answers an empty text with the uniform distribution, with spaCy alone."""
        from thinc.api import Config

        from . import empty_text

        config = Config().from_disk(model_dir / "config.cfg", interpolate=False)
        config["nlp"]["after_pipeline_creation"] = {"@callbacks": empty_text.CALLBACK}
        config.to_disk(model_dir / "config.cfg")
        return [Path(empty_text.__file__)]

    def size_bytes(self) -> int:
        """Bytes on disk of the saved student (pipeline directory and metadata)."""
        with tempfile.TemporaryDirectory() as tmp:
            self.save(Path(tmp) / "student")
            return directory_size(Path(tmp) / "student")


def _use_stock_components(path: Path) -> None:
    """Make the saved pipeline at ``path`` name spaCy's own text categorizer, not kdtext's.

    Soft-label training is a training-time concern: the saved student must load where
    spaCy alone is installed (no kdtext, torch or transformers), see
    :func:`kdtext.default_plugins.spacy.soft_textcat.stock_config`.
    """
    from thinc.api import Config

    from .soft_textcat import stock_config

    config_path = path / "config.cfg"
    config = Config().from_disk(config_path, interpolate=False)
    stock_config(config).to_disk(config_path)


def _set_vectors(nlp: "Language", path: str) -> None:
    """Load static word vectors (see :mod:`kdtext.students.vectors`) into the pipeline's vocab."""
    from spacy.vectors import Vectors

    from ...students.vectors import load_vectors

    words, matrix = load_vectors(path)
    keys = [nlp.vocab.strings.add(word) for word in words]
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=matrix, keys=keys, name="kdtext_teacher_vectors")


def _break_output_symmetry(model: Any, seed: int) -> None:
    """Give a zero-initialised ``Softmax`` output layer small random weights.

    thinc initialises ``Softmax`` weights to zero. In spaCy's ensemble the bag-of-words
    part feeds that layer a uniform distribution at the start, so the weight columns it
    reads stay identical, the gradient it sends back is the same for every class, and
    the softmax of the bag-of-words model turns that into exactly zero: its n-gram
    weights never move (stock spaCy has this too). Random weights break the symmetry.
    """
    rng = np.random.default_rng(seed)
    for node in model.walk():
        if node.name == "softmax" and node.has_param("W"):
            weights = node.get_param("W")
            if not np.any(weights):
                n_out, n_in = weights.shape
                scale = np.sqrt(6.0 / (n_in + n_out))
                node.set_param("W", node.ops.asarray(rng.uniform(-scale, scale, weights.shape).astype("f")))


def _check_dataset(dataset: Dataset, space: LabelSpace, what: str) -> None:
    """Labels must match the training labels; targets must be probabilities. Errors name file:line."""
    if dataset.label_space != space:
        raise DataError(
            dataset.source, None,
            f"{what} has labels {list(dataset.label_space.labels)} "
            f"({dataset.label_space.task}), but the training data has {list(space.labels)} ({space.task})",
        )
    targets = dataset.targets
    if not len(targets):
        return
    bad = ~np.isfinite(targets).all(axis=1) | (targets < 0).any(axis=1) | (targets > 1).any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(None, None, f"{dataset.where(i)}: {what} has targets outside [0, 1]: {targets[i].tolist()}")
    if not space.multilabel:
        sums = targets.sum(axis=1)
        off = np.abs(sums - 1.0) > SUM_TOLERANCE
        if off.any():
            i = int(np.argmax(off))
            raise DataError(None, None, f"{dataset.where(i)}: {what} has probabilities summing to {sums[i]:.4f}, not 1, in a single-label task")


class SpacyCNNStudent(SpacyStudent):
    """spaCy textcat ensemble: bag-of-words + CNN over hashed token embeddings.

    Architecture parameters: ``width`` (token vector width, 64), ``depth`` (CNN layers, 2),
    ``embed_size`` (hash-embedding rows for NORM and LOWER; PREFIX, SUFFIX and SHAPE get
    1/4, 1/2 and 1/4 of it, as in spaCy's default; 2000), ``window_size`` (1),
    ``maxout_pieces`` (3), ``ngram_size`` (bag-of-words n-grams, 1), ``bow_length``
    (bag-of-words hash table size, 262144).
    """

    name: ClassVar[str] = "spacy-cnn"
    model_defaults: ClassVar[dict[str, Any]] = {
        "width": 64,
        "depth": 2,
        "embed_size": 2000,
        "window_size": 1,
        "maxout_pieces": 3,
        "ngram_size": 1,
        "bow_length": 262144,
        "vectors": None,
    }

    def model_config(self, multilabel: bool) -> dict[str, Any]:
        p = self.params
        rows = [p["embed_size"], p["embed_size"], max(1, p["embed_size"] // 4), max(1, p["embed_size"] // 2), max(1, p["embed_size"] // 4)]
        return {
            "@architectures": "spacy.TextCatEnsemble.v2",
            "tok2vec": {
                "@architectures": "spacy.Tok2Vec.v2",
                "embed": {
                    "@architectures": "spacy.MultiHashEmbed.v2",
                    "width": p["width"],
                    "rows": rows,
                    "attrs": ["NORM", "LOWER", "PREFIX", "SUFFIX", "SHAPE"],
                    "include_static_vectors": bool(p.get("vectors")),
                },
                "encode": {
                    "@architectures": "spacy.MaxoutWindowEncoder.v2",
                    "width": p["width"],
                    "window_size": p["window_size"],
                    "maxout_pieces": p["maxout_pieces"],
                    "depth": p["depth"],
                },
            },
            "linear_model": _bow_config(not multilabel, p["ngram_size"], p["bow_length"]),
        }


class SpacyBOWStudent(SpacyStudent):
    """spaCy bag-of-words text classifier (hashed n-grams, linear): the fastest student.

    Architecture parameters: ``ngram_size`` (n-grams up to this length, 1) and
    ``bow_length`` (hash table size, 262144).
    """

    name: ClassVar[str] = "spacy-bow"
    model_defaults: ClassVar[dict[str, Any]] = {"ngram_size": 1, "bow_length": 262144}

    def model_config(self, multilabel: bool) -> dict[str, Any]:
        return _bow_config(not multilabel, self.params["ngram_size"], self.params["bow_length"])


def _bow_config(exclusive: bool, ngram_size: int, length: int) -> dict[str, Any]:
    return {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": exclusive,
        "length": length,
        "ngram_size": ngram_size,
        "no_output_layer": False,
    }


#: The built-in spaCy students by name (as registered by ``kdtext.default_plugins.spacy``).
STUDENTS: dict[str, type[SpacyStudent]] = {cls.name: cls for cls in (SpacyCNNStudent, SpacyBOWStudent)}
