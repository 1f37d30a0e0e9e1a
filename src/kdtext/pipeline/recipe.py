"""The recipe of ``kdtext run``: its stages in order, the checks before any work, and the
function that runs (or resumes) them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import plugins
from ..base import resolve_params
from ..errors import ConfigError
from ..io import read_json, write_json, write_text
from .config import RunConfig
from .report import html_report
from .runner import Runner, Stage, run_folder_lock
from .stages.augment import (
    _augment_settings,
    _augmenter_instances,
    _augmenter_plugins,
    _corpus_settings,
    _tagger_plugin,
    stage_augment,
    stage_corpus,
)
from .stages.data import _data_settings, load_inputs, stage_data
from .stages.evaluate import stage_evaluate, stage_reference
from .stages.label import _label_settings, stage_label, wants_representations
from .stages.report import stage_report
from .stages.students import (
    _student_plugin,
    _student_settings,
    _vectors_settings,
    stage_baseline,
    stage_distilled,
    stage_vectors,
)
from .stages.teacher import _teacher_plugin, _teacher_settings, stage_teacher

STAGES = [
    Stage("data", "load and validate data", stage_data, settings=_data_settings),
    Stage("teacher", "finetune or load the teacher", stage_teacher, settings=_teacher_settings, depends=("data",), plugins=_teacher_plugin),
    Stage("corpus", "tokenize and tag", stage_corpus, settings=_corpus_settings, depends=("data",), plugins=_tagger_plugin),
    Stage("augment", "augment the texts into synthetic examples", stage_augment, settings=_augment_settings, depends=("corpus",), plugins=_augmenter_plugins),
    Stage("label", "label with the teacher", stage_label, settings=_label_settings, depends=("teacher", "augment", "data"), plugins=_teacher_plugin),
    Stage("vectors", "word vectors for the student", stage_vectors, settings=_vectors_settings, depends=("teacher", "corpus", "data")),
    Stage("baseline", "train the baseline student", stage_baseline, settings=_student_settings, depends=("data",), plugins=_student_plugin),
    Stage("distilled", "train the distilled student", stage_distilled, settings=_student_settings, depends=("data", "label", "vectors"), plugins=_student_plugin),
    Stage("reference", "train the reference classifier (TF-IDF + logistic regression, gold data only)", stage_reference, settings=lambda c: {"seed": c.seed, "model": "tfidf-lr-1"}, depends=("data",)),
    Stage("evaluate", "evaluate the four models on test", stage_evaluate, depends=("teacher", "baseline", "distilled", "reference", "data")),
    Stage("report", "write report.json and report.html", stage_report, settings=lambda c: c.to_json(), depends=("evaluate",)),
]


def check_plugins(config: RunConfig) -> None:
    """Resolve every plugin name (and the language) now, so a typo fails before any work is done."""
    from ..augment.tokenizer import check_language

    check_language(config.lang)
    teacher = plugins.get_teacher(config.teacher)
    if teacher.run_unsupported:
        raise ConfigError(f"teacher {config.teacher!r} cannot be used in `kdtext run`: {teacher.run_unsupported}")
    resolve_params(teacher, config.teacher_params)
    resolve_params(plugins.get_student(config.student), config.student_params)
    if wants_representations(config) and not getattr(teacher, "gives_representations", False):
        raise ConfigError(
            f"student parameter rep_weight={config.student_params['rep_weight']} needs the teacher's sentence representations, "
            f"and teacher {config.teacher!r} gives none (kdtext.Teacher.gives_representations): leave rep_weight at 0"
        )
    _augmenter_instances(config, None)
    if config.engine == "ray":
        from ..labelling.engine import RAY_INSTALL_HINT, ray_available

        if not ray_available():
            raise ConfigError(f"--engine ray needs Ray, which is not installed: {RAY_INSTALL_HINT}")


def run_recipe(config: RunConfig, run_dir: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) every stage in ``run_dir``, holding its lock (one run per folder); returns the report."""
    check_plugins(config)
    if config.data is None:
        load_inputs(config)  # validate every file before anything else starts
    with run_folder_lock(run_dir):
        runner = Runner(config, run_dir, STAGES, quiet=quiet)
        runner.run()
        write_json(run_dir / "config.json", config.to_json())
        report = read_json(run_dir / "report" / "report.json")
        # the top-level copies people open; rewritten each time so they match the manifest
        report["stages"] = {
            name: {"seconds": entry["seconds"], "finished": entry["finished"]} for name, entry in runner.manifest["stages"].items()
        }
        report["resumed"] = runner.skipped
        write_json(run_dir / "report.json", report)
        write_text(run_dir / "report.html", html_report(report))
    return report
