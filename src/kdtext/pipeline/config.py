"""Settings of a run: defaults, then a TOML file, then command-line flags.

Each setting is declared once, with :func:`setting`: its default, its TOML key, its
command-line option (made by :mod:`kdtext.cli.options`, also for ``kdtext label`` and
``kdtext augment``) and its check (:meth:`RunConfig.validate`, for values from a TOML file).
The choices come from where they are defined (:data:`kdtext.labelling.BACKENDS`,
:data:`kdtext.labelling.engine.ENGINES`...). The resolved settings are written to
``RUN_DIR/config.json``; each stage's fingerprint is computed from the settings that
affect it, so a changed setting reruns exactly the stages it affects.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..augment.builder import TAG_SAMPLE
from ..base import WORD_VECTOR_SOURCES
from ..datasets import BUILTIN_DATA
from ..errors import ConfigError
from ..labelling import BACKENDS, QUANTIZATIONS
from ..labelling.engine import ENGINES


def setting(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = dataclasses.MISSING, **cli: Any) -> Any:
    """A field of :class:`RunConfig` with what ``kdtext run`` needs to make its option.

    ``help`` is the option's help; ``cli`` may hold ``flag`` (the option's declaration,
    default ``--field-name``), ``choices``, ``min`` (a whole number at least this),
    ``type`` (``int``, ``"path"``), ``multiple`` (repeatable), ``params`` (repeatable
    ``NAME=VALUE``, parsed into a dict) and ``metavar``. The field is the one source of the
    setting: its default, its TOML key (the field name), its command-line option and its
    check (``choices``, ``min`` and ``type=int`` are checked by :meth:`RunConfig.validate`).
    """
    return field(default=default, default_factory=factory, metadata={"help": help, **cli})


@dataclass
class RunConfig:
    """Every setting of ``kdtext run``; field names are the TOML keys, and each field makes its option."""

    #: A built-in data set (``"demo"``: Rotten Tomatoes; see :data:`kdtext.datasets.BUILTIN_DATA`), else None and the paths below.
    data: str | None = setting(
        None,
        "Built-in data, 1000/1000/1000 + unlabelled pool: "
        + "; ".join(f"'{name}' = {about}" for name, (_, about) in BUILTIN_DATA.items()) + ".",
        choices=tuple(BUILTIN_DATA),
    )
    train: str | None = setting(None, "Labelled training data (JSONL or CSV with text, label).", type="path")
    dev: str | None = setting(None, "Labelled dev data, for early stopping.", type="path")
    test: str | None = setting(None, "Labelled test data, for the report.", type="path")
    #: Real unlabelled texts added to the transfer set (labelled by the teacher).
    unlabeled: str | None = setting(None, "Real unlabelled texts to add to the transfer set.", type="path")
    teacher: str = setting("bert", "Teacher plugin.")
    #: A base model to finetune, or a teacher saved by kdtext (then it is only loaded).
    teacher_model: str | None = setting(None, "Base model to finetune, or a teacher saved by kdtext (path or hub name).")
    teacher_params: dict[str, Any] = setting(
        factory=dict, help="Teacher parameter, e.g. epochs=3 (repeatable).", flag="--teacher-param", params=True
    )
    augmenters: list[str] = setting(
        factory=lambda: ["tang"], help="Augmenter plugin (repeatable)  [default: tang]", flag="--augmenter", multiple=True
    )
    #: Parameters for the augmenters; each augmenter takes those it knows.
    augment_params: dict[str, Any] = setting(
        factory=dict, help="Augmenter parameter, e.g. p_mask=0.15 (repeatable).", flag="--param", params=True
    )
    n_synthetic: int = setting(60000, "Synthetic examples to make.", min=0)
    #: Augment the unlabelled texts too, not only the training texts (the synthetic
    #: examples then come from every real text the run has; see benchmarks/RESULTS.md).
    augment_unlabeled: bool = setting(
        True, "Make synthetic examples from the unlabelled texts too, not only from the training texts.",
        flag="--augment-unlabeled/--no-augment-unlabeled",
    )  # fmt: skip
    lang: str = setting("en", "Language of the texts (spaCy code).")
    #: Tokens the POS tagger tags in context before the rest of the corpus is tagged by word
    #: type from them (kdtext.augment.pos_lexicon); 0: every text in context (slow at scale).
    tag_sample: int = setting(
        TAG_SAMPLE, "Tokens the POS tagger tags in context; the rest of the texts get each word's most frequent tag "
        "among them, which is many times faster (0: tag every text in context).", min=0,
    )  # fmt: skip
    seed: int = setting(0, "Random seed for augmentation and training.", type=int)
    #: Dimensions of static word vectors for the distilled student, taken from the
    #: teacher (0: none). The baseline student gets none: it uses nothing of the teacher.
    teacher_vectors: int = setting(
        64, "Give the distilled student static word vectors of this many dimensions from the teacher "
        "(0: none; the baseline never gets them).", min=0,
    )  # fmt: skip
    #: Where those vectors come from: "encoder" (the finetuned teacher reading each
    #: word alone) or "embeddings" (its input embedding table); see kdtext.students.vectors.
    vectors_from: str = setting(
        "encoder", "Take those vectors from the finetuned teacher reading each word (encoder) or from its input "
        "embedding table (embeddings).", choices=WORD_VECTOR_SOURCES,
    )  # fmt: skip
    student: str = setting("spacy-fast", "Student plugin.")
    student_params: dict[str, Any] = setting(
        factory=dict, help="Student parameter, e.g. width=128 (repeatable).", flag="--student-param", params=True
    )
    #: Labelling: "auto", "cpu", "cuda" or "cuda:N".
    device: str = setting("auto", "Where the teacher runs: auto (CUDA when available), cpu, cuda or cuda:N.")
    batch_tokens: int | None = setting(None, "Padded tokens per labelling batch  [default: the teacher's; bert: 8192 on CPU, 65536 on CUDA].", min=1)
    quantize: str | None = setting(None, "Dynamic int8 quantization of the teacher for CPU labelling.", choices=QUANTIZATIONS)
    #: What runs the teacher when labelling: "auto" (ONNX Runtime on the CPU for jobs of
    #: 1,000+ examples when installed, else PyTorch), "torch" or "onnx" (kdtext.default_plugins.bert.ort).
    backend: str = setting(
        "auto", "What runs the teacher when labelling: onnx (ONNX Runtime on the CPU, same fp32 answers, about 3x the plain "
        "PyTorch loop; exported once per teacher to onnx/ in the kdtext cache folder, $KDTEXT_CACHE_DIR or ~/.cache/kdtext, "
        "or to $KDTEXT_ONNX_CACHE) or torch; auto = onnx for CPU jobs of 1,000+ examples when onnxruntime is installed, "
        "else torch.", choices=BACKENDS,
    )  # fmt: skip
    engine: str = setting(
        "local", "Where augmentation and labelling run (ray: same results, spread over a Ray cluster).", choices=ENGINES
    )
    #: Ray cluster to use with ``engine = "ray"`` (None: start a local Ray instance).
    ray_address: str | None = setting(
        None, "With --engine ray: the cluster to use (e.g. auto, ray://head:10001) [default: start a local Ray instance]."
    )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Every setting against what its :func:`setting` declares (``choices``, ``min``, ``type=int``),
        then what involves several settings. Command-line values were checked by Click already;
        this catches those of a TOML file or of Python code."""
        for field in dataclasses.fields(self):
            value, meta = getattr(self, field.name), field.metadata
            if value is None and field.default is None:
                continue  # an optional setting left out
            if meta.get("choices") and value not in meta["choices"]:
                raise ConfigError(f"unknown {field.name} {value!r}; use one of {', '.join(map(str, meta['choices']))}")
            whole = isinstance(value, int) and not isinstance(value, bool)
            if "min" in meta and not (whole and value >= meta["min"]):
                raise ConfigError(f"{field.name} must be a whole number of at least {meta['min']}, got {value!r}")
            if meta.get("type") is int and not whole:
                raise ConfigError(f"{field.name} must be a whole number, got {value!r}")
        if self.data is None:
            missing = [name for name in ("train", "dev", "test") if getattr(self, name) is None]
            if missing:
                raise ConfigError(
                    f"missing {', '.join('--' + m for m in missing)}: give --train, --dev and --test files, or --data demo"
                )
        if not self.augmenters and self.n_synthetic:
            raise ConfigError("n_synthetic > 0 needs at least one augmenter")


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def load_config(path: str | os.PathLike | None, overrides: dict[str, Any]) -> RunConfig:
    """Defaults, then the TOML file at ``path`` (if any), then ``overrides`` (CLI flags).

    Paths in the TOML file are relative to the file's folder.
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        for key, value in data.items():
            if key not in FIELDS:
                raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(sorted(FIELDS))}")
            if key in ("train", "dev", "test", "unlabeled", "teacher_model") and isinstance(value, str):
                candidate = path.parent / value
                if candidate.exists():
                    value = str(candidate)
            values[key] = value
    for key, value in overrides.items():
        if key not in FIELDS:
            raise ConfigError(f"unknown setting {key!r}")
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            value = {**values[key], **value}
        values[key] = value
    if isinstance(values.get("augmenters"), str):
        values["augmenters"] = [values["augmenters"]]
    config = RunConfig(**values)
    config.validate()
    return config
