"""The ``teacher`` stage: finetune the teacher, or load a saved one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ... import plugins
from ...errors import ConfigError
from ..artifacts import split
from ..config import RunConfig
from ..runner import StageContext
from . import _jsonable


def _teacher_source(config: RunConfig) -> str | None:
    """``--teacher-model``, the default model of a teacher that takes one, or None (a teacher without ``model``)."""
    if config.teacher_model:
        return config.teacher_model
    cls = plugins.get_teacher(config.teacher)
    if "model" not in cls.defaults:
        return None
    path = cls.default_model()
    if path is None:
        raise ConfigError(f"teacher {config.teacher!r} needs --teacher-model")
    return path


def _path_fingerprint(source: str | None) -> Any:
    """What identifies a model folder's content cheaply: names, sizes and modification times."""
    if source is None:
        return None
    path = Path(source)
    if not path.exists():
        return source  # a hub name
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(p.relative_to(path)) if path.is_dir() else p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in files]


def _teacher_settings(config: RunConfig) -> Any:
    return {
        "teacher": config.teacher,
        "model": _path_fingerprint(_teacher_source(config)),
        "params": config.teacher_params,
        "seed": config.seed,
    }


def stage_teacher(ctx: StageContext) -> dict[str, Any]:
    """The teacher contract (:class:`kdtext.Teacher`): ``load`` a saved one, else ``from_config`` + ``fit``."""
    config = ctx.config
    cls = plugins.get_teacher(config.teacher)
    source = _teacher_source(config)
    train, dev = split(ctx, "train"), split(ctx, "dev")
    if source is not None and cls.is_saved(source):
        ctx.log(f"loading the finetuned teacher in {source}")
        teacher = cls.load(source)
        teacher.check_labels(train.label_space, where=str(source))
        figures: dict[str, Any] = {"finetuned": False}
    else:
        teacher = cls.from_config(model=source, seed=config.seed, **config.teacher_params)
        if cls.trainable:
            ctx.log(f"finetuning {source or config.teacher} on {len(train)} examples")
        figures = {"finetuned": cls.trainable, **(teacher.fit(train, dev) or {})}
    teacher.save(ctx.out / "model")
    return {"mask_token": teacher.mask_token, "source": source, "figures": _jsonable(figures)}


def _teacher_plugin(config: RunConfig) -> list[tuple[str, str | None]]:
    return [("register_teachers", config.teacher)]
