"""Settings of a run: defaults, then a TOML file, then command-line flags.

The resolved settings are written to ``RUN_DIR/config.json``; each stage's fingerprint
is computed from the settings that affect it, so a changed setting reruns exactly the
stages it affects.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass
class RunConfig:
    """Every setting of ``kdtext run``; field names are the TOML keys."""

    #: ``"demo"`` for the built-in Rotten Tomatoes data, else None and the paths below.
    data: str | None = None
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    #: Real unlabelled texts added to the transfer set (labelled by the teacher).
    unlabeled: str | None = None
    teacher: str = "bert"
    #: A base model to finetune, or a teacher saved by kdtext (then it is only loaded).
    teacher_model: str | None = None
    teacher_params: dict[str, Any] = field(default_factory=dict)
    augmenters: list[str] = field(default_factory=lambda: ["tang"])
    #: Parameters for the augmenters; each augmenter takes those it knows.
    augment_params: dict[str, Any] = field(default_factory=dict)
    n_synthetic: int = 60000
    #: Augment the unlabelled texts too, not only the training texts (the synthetic
    #: examples then come from every real text the run has; see benchmarks/RESULTS.md).
    augment_unlabeled: bool = True
    lang: str = "en"
    seed: int = 0
    #: Dimensions of static word vectors for the distilled student, taken from the
    #: teacher (0: none). The baseline student gets none: it uses nothing of the teacher.
    teacher_vectors: int = 64
    #: Where those vectors come from: "encoder" (the finetuned teacher reading each
    #: word alone) or "embeddings" (its input embedding table); see kdtext.vectors.
    vectors_from: str = "encoder"
    student: str = "spacy-cnn"
    student_params: dict[str, Any] = field(default_factory=dict)
    #: Labelling: "auto", "cpu", "cuda" or "cuda:N".
    device: str = "auto"
    batch_tokens: int | None = None
    quantize: str | None = None
    engine: str = "local"
    #: Ray cluster to use with ``engine = "ray"`` (None: start a local Ray instance).
    ray_address: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        if self.data not in (None, "demo"):
            raise ConfigError(f"unknown --data {self.data!r}; use 'demo' or give --train/--dev/--test")
        if self.data is None:
            missing = [name for name in ("train", "dev", "test") if getattr(self, name) is None]
            if missing:
                raise ConfigError(
                    f"missing {', '.join('--' + m for m in missing)}: give --train, --dev and --test files, or --data demo"
                )
        if self.n_synthetic < 0:
            raise ConfigError(f"n_synthetic must be 0 or more, got {self.n_synthetic}")
        if not self.augmenters and self.n_synthetic:
            raise ConfigError("n_synthetic > 0 needs at least one augmenter")
        if self.quantize not in (None, "int8"):
            raise ConfigError(f"unknown quantize {self.quantize!r}; use int8")
        if not isinstance(self.teacher_vectors, int) or self.teacher_vectors < 0:
            raise ConfigError(f"teacher_vectors must be 0 (off) or a number of dimensions, got {self.teacher_vectors!r}")
        if self.vectors_from not in ("encoder", "embeddings"):
            raise ConfigError(f"unknown vectors_from {self.vectors_from!r}; use encoder or embeddings")
        if self.engine not in ("local", "ray"):
            raise ConfigError(f"unknown engine {self.engine!r}; use local or ray")


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
