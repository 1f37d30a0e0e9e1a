"""``kdtext sweep``: which augmenters, how strong, and how much synthetic data a student needs, on your data.

A sweep reads a run folder and trains one distilled student per *cell* of a grid:
augmenter(s) x number of synthetic examples x augmentation strength x seed. Every cell
reuses the run's data, teacher (never refitted), tokenized corpus, word vectors and label
cache (``RUN/cache/labels``: only examples the teacher never labelled are labelled), and
goes through the recipe's own ``augment``, ``label`` and ``distilled`` stage functions,
so a cell with the run's settings is the run's distilled student.

Output folder (default ``RUN/sweep``): ``cells/<key>/`` per cell, with ``cell.json``
(settings, figures, fingerprint) and the student's probabilities on dev and test
(``dev.npy``, ``test.npy``: every figure of the sweep can be recomputed from them), then
``sweep.json``, ``sweep.html`` and, with ``apply``, ``run.toml``. A cell is published
only once finished, so an interrupted sweep resumes at its first unfinished cell.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import plugins
from ..errors import ConfigError, KdtextError
from ..io import atomic_write, read_json, replace_directory, write_json
from .config import FIELDS, RunConfig
from .runner import StageContext, fingerprint

if TYPE_CHECKING:
    from ..data import Dataset

#: Augmenter parameters that ``--strength`` sets: the per-word change probabilities.
STRENGTH_PARAMS = ("p_mask", "p_pos")
#: Stages of the run that a sweep reuses (finished first if they are not).
REUSED_STAGES = ("data", "teacher", "corpus", "vectors")
#: Stages of the recipe that each cell runs on its own folders.
CELL_STAGES = ("augment", "label", "distilled")
SWEEP_FORMAT = 1


@dataclass(frozen=True)
class Cell:
    """One student of a sweep: which augmenters, how many synthetic examples, how strong, which seed.

    ``params`` are the augmenters' parameters as the run's config would hold them;
    ``strength`` is what ``--strength`` asked for (None: the run's own values, or an
    augmenter that changes no words). A cell with no synthetic examples trains on the
    gold data and the teacher-labelled unlabelled texts only, whatever the augmenters.
    """

    augmenters: tuple[str, ...]
    n_synthetic: int
    params: tuple[tuple[str, Any], ...]
    seed: int
    strength: float | None = field(default=None, compare=False)
    #: The run's own augmenters, size and strength (the settings the sweep is compared with).
    is_run: bool = field(default=False, compare=False)

    @property
    def series(self) -> str:
        return "+".join(self.augmenters) if self.n_synthetic else "none"

    @property
    def setting(self) -> tuple[str, int, str]:
        """What the cell's seeds share: (series, size, strength)."""
        return self.series, self.n_synthetic, strength_text(self)

    @property
    def key(self) -> str:
        """The cell's folder name."""
        if not self.n_synthetic:
            return f"none-n0-seed{self.seed}"
        strength = strength_text(self)
        return f"{self.series}-n{self.n_synthetic}" + (f"-s{strength}" if strength != "-" else "") + f"-seed{self.seed}"


def strength_text(cell: Cell) -> str:
    """The strength to show: the one asked for, else the p_mask / p_pos the augmenters get ("-": none)."""
    if not cell.n_synthetic:
        return "-"
    if cell.strength is not None:
        return f"{cell.strength:g}"
    values = set()
    params = dict(cell.params)
    for name in cell.augmenters:
        defaults = plugins.get_augmenter(name).defaults
        values |= {float(params.get(p, defaults[p])) for p in STRENGTH_PARAMS if p in defaults}
    return "/".join(f"{v:g}" for v in sorted(values)) or "-"


@dataclass
class SweepSpec:
    """The grid: each None means the run's own setting."""

    augmenters: list[str] | None = None  # each one series; "mask+pos" joins several
    sizes: list[int] | None = None
    strengths: list[float] | None = None
    seeds: list[int] | None = None
    student: str | None = None
    student_params: dict[str, Any] = field(default_factory=dict)


def read_run_config(run_dir: Path) -> RunConfig:
    """The settings a run folder was made with (its ``config.json``)."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(
            f"{run_dir}: no config.json (a run writes it when it finishes): finish it with `kdtext run ... -o {run_dir}`, "
            "or give its settings with --config"
        )
    try:
        values = read_json(path, error=ConfigError)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the run's settings: {exc}") from None
    config = RunConfig(**{k: v for k, v in values.items() if k in FIELDS})
    config.validate()
    return config


def _params_for(augmenters: tuple[str, ...], base: dict[str, Any], strength: float | None) -> dict[str, Any]:
    """The run's augmenter parameters that these augmenters take, with ``strength`` as their change probabilities.

    The change probabilities are always written out (the augmenters' default where
    neither the run nor ``strength`` sets one), so that a strength equal to the run's
    makes the same cell as the run's settings.
    """
    defaults = [plugins.get_augmenter(name).defaults for name in augmenters]
    params = {k: v for k, v in base.items() if any(k in d for d in defaults)}
    for name in STRENGTH_PARAMS:
        given = {d[name] for d in defaults if name in d}
        if strength is not None and given:
            params[name] = float(strength)
        elif name not in params and len(given) == 1:
            params[name] = float(given.pop())
    return params


def plan_cells(config: RunConfig, spec: SweepSpec) -> list[Cell]:
    """Every distinct cell of the grid, the run's own settings included, in the order they run.

    Cells without synthetic examples are one per seed, whatever the augmenters; an
    augmenter that changes no words (``ngram``, ``sentence``) gets one strength. Bad
    names and parameters fail here, before any work.
    """
    series = [tuple(a.split("+")) for a in (spec.augmenters or ["+".join(config.augmenters)])]
    for names in series:
        for name in names:
            plugins.get_augmenter(name)  # an unknown name lists the known ones
    sizes = spec.sizes if spec.sizes is not None else [config.n_synthetic]
    strengths: list[float | None] = list(spec.strengths) if spec.strengths else [None]
    seeds = spec.seeds if spec.seeds is not None else [config.seed]
    cells: dict[Cell, Cell] = {}

    def add(cell: Cell) -> None:
        if cell in cells:
            if cell.is_run:
                cells[cell] = dataclasses.replace(cells[cell], is_run=True)
            return
        cells[cell] = cell

    for seed in seeds:
        for n in sorted(sizes):
            for names in series:
                for strength in strengths:
                    if not n:
                        add(Cell((), 0, (), seed))
                        continue
                    takes = any(p in plugins.get_augmenter(a).defaults for a in names for p in STRENGTH_PARAMS)
                    params = _params_for(names, config.augment_params, strength if takes else None)
                    add(Cell(names, n, tuple(sorted(params.items())), seed, strength if takes else None))
        run_names = tuple(config.augmenters)
        run_params = _params_for(run_names, config.augment_params, None) if config.n_synthetic else {}
        add(Cell(run_names if config.n_synthetic else (), config.n_synthetic, tuple(sorted(run_params.items())), seed, is_run=True))
    planned = list(cells.values())
    from .stages.augment import _augmenter_instances

    for cell in planned:
        _augmenter_instances(cell_config(config, cell, spec), None)  # a strength an augmenter refuses fails now
    return planned


def cell_config(config: RunConfig, cell: Cell, spec: SweepSpec) -> RunConfig:
    """The run's settings with the cell's augmenters, size, parameters and seed, and the sweep's student."""
    student = spec.student or config.student
    params = {**config.student_params, **spec.student_params} if student == config.student else dict(spec.student_params)
    return dataclasses.replace(
        config, augmenters=list(cell.augmenters), n_synthetic=cell.n_synthetic, augment_params=dict(cell.params),
        seed=cell.seed, student=student, student_params=params,
    )  # fmt: skip


@dataclass
class _RunView:
    """What a stage function reads of its runner, for one cell: the cell's settings, the run's folder and manifest."""

    config: RunConfig
    run_dir: Path
    manifest: dict[str, Any]
    quiet: bool = False

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


@dataclass
class CellContext(StageContext):
    """A :class:`StageContext` whose ``augment`` and ``label`` inputs are the cell's own folders."""

    folders: dict[str, Path] = field(default_factory=dict)

    def input(self, stage_name: str) -> Path:
        return self.folders.get(stage_name) or super().input(stage_name)


class Sweep:
    """Runs (or resumes) the cells of a sweep over a run folder and summarises them."""

    def __init__(
        self, run_dir: str | Path, spec: SweepSpec, out_dir: str | Path | None = None, *, config: RunConfig | None = None,
        quiet: bool = False,
    ) -> None:
        """``config``: the run's settings when its folder has no ``config.json`` yet (a run that never finished)."""
        self.run_dir = Path(run_dir)
        self.out_dir = Path(out_dir) if out_dir is not None else self.run_dir / "sweep"
        self.spec = spec
        self.quiet = quiet
        self.config = config if config is not None else read_run_config(self.run_dir)
        from .recipe import check_plugins

        check_plugins(cell_config(self.config, Cell((), 0, (), self.config.seed), spec))
        self.cells = plan_cells(self.config, spec)
        self.manifest: dict[str, Any] = {}
        self._sources: dict[str, Any] = {}  # code_identity's cache of source hashes
        self._splits: dict[str, "Dataset"] = {}

    def split(self, name: str) -> "Dataset":
        """The run's ``dev`` or ``test`` split (every cell is scored on them), read once."""
        from .artifacts import split_of

        if name not in self._splits:
            self._splits[name] = split_of(self.run_dir, name)
        return self._splits[name]

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def prepare(self) -> None:
        """Finish the run's data, teacher, corpus and vectors stages if needed (a finished run skips all four)."""
        from .recipe import STAGES
        from .runner import MANIFEST, Runner

        runner = Runner(self.config, self.run_dir, [s for s in STAGES if s.name in REUSED_STAGES], quiet=True)
        runner.run()
        self.manifest = read_json(self.run_dir / MANIFEST)
        done = "finished now: " + ", ".join(runner.executed) if runner.executed else "reused"
        self.log(f"the run's data, teacher, corpus and word vectors: {done} ({self.run_dir})")
        tagged = self.manifest["stages"]["corpus"]["summary"].get("tagged")
        from .stages.augment import _needs_tags

        if not tagged and any(_needs_tags(cell_config(self.config, c, self.spec)) for c in self.cells if c.n_synthetic):
            self._tagged_corpus()

    def _tagged_corpus(self) -> None:
        """The run's texts with POS tags, in ``OUT/corpus``, for a same-POS augmenter the run did not use."""
        from .stages.augment import stage_corpus

        folder = self.out_dir / "corpus"
        if (folder / "corpus.json").is_file():
            return
        self.log("the run's corpus has no part-of-speech tags: tagging it for the sweep")
        config = dataclasses.replace(self.config, augmenters=["pos"], n_synthetic=max(self.config.n_synthetic, 1), augment_params={})
        partial = self.out_dir / ".corpus.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        summary = stage_corpus(self._context(config, partial, {}))
        write_json(partial / "corpus.json", summary)
        replace_directory(partial, folder)

    def _context(self, config: RunConfig, out: Path, folders: dict[str, Path]) -> CellContext:
        from .recipe import STAGES

        if (self.out_dir / "corpus" / "corpus.json").is_file():
            folders = {"corpus": self.out_dir / "corpus", **folders}
        view = _RunView(config, self.run_dir, self.manifest, self.quiet)
        return CellContext(view, STAGES[0], out, folders=folders)  # type: ignore[arg-type]

    def cell_fingerprint(self, cell: Cell) -> str:
        """The cell's settings, the run's upstream fingerprints and the code the cell runs (the augmenter,
        teacher and student plugins, and kdtext when installed editable: as a run's stages fingerprint it)."""
        from .fingerprint import code_identity
        from .recipe import STAGES
        from .stages.label import _label_settings

        config = cell_config(self.config, cell, self.spec)
        upstream = {name: self.manifest["stages"][name]["fingerprint"] for name in REUSED_STAGES}
        corpus = self.out_dir / "corpus" / "corpus.json"
        uses = [use for stage in STAGES if stage.name in CELL_STAGES for use in stage.plugins(config)]
        return fingerprint(
            "sweep-cell", SWEEP_FORMAT, cell.augmenters, cell.n_synthetic, cell.params, cell.seed, config.student,
            config.student_params, config.lang, _label_settings(config), upstream, corpus.is_file(),
            code_identity(uses, self._sources),
        )  # fmt: skip

    def run(self) -> list[dict[str, Any]]:
        """Every cell's figures (``cell.json``), computing the cells that are not done yet.

        Holds the run folder's lock throughout (its label cache and stages are shared): a
        ``kdtext run`` or another sweep on the same folder stops at once, naming this one."""
        from .runner import run_folder_lock

        with run_folder_lock(self.run_dir):
            return self._run()

    def _run(self) -> list[dict[str, Any]]:
        self.prepare()
        (self.out_dir / "cells").mkdir(parents=True, exist_ok=True)
        for leftover in (self.out_dir / "cells").glob(".*.partial"):  # cells an interrupted sweep left half-made
            shutil.rmtree(leftover, ignore_errors=True)
        results: list[dict[str, Any]] = []
        spent, work_done = 0.0, 0
        for number, cell in enumerate(self.cells, start=1):
            print_ = self.cell_fingerprint(cell)
            folder = self.out_dir / "cells" / cell.key
            done = _read_cell(folder, print_)
            label = f"[{number}/{len(self.cells)}] {describe(cell)}"
            if done is not None:
                self.log(f"{label}: done earlier, skipped")
            else:
                self.log(f"{label} ...")
                started = time.perf_counter()
                done = self._run_cell(cell, print_, folder)
                seconds = time.perf_counter() - started
                spent, work_done = spent + seconds, work_done + _work(cell, self.manifest)
                left = spent / max(work_done, 1) * sum(_work(c, self.manifest) for c in self.cells[number:] if not _read_cell(self.out_dir / "cells" / c.key, None))
                self.log(
                    f"{label}: dev {done['dev_accuracy']:.4f}, test {done['test_accuracy']:.4f}, trained in "
                    f"{done['train_seconds']:.0f}s; cell done in {seconds:.0f}s" + (f", about {left / 60:.0f} min left" if number < len(self.cells) else "")
                )
            results.append(done)
        return results

    def _from_run(self, cell: Cell) -> bool:
        """Whether the run's distilled student is this cell (same settings, student and seed): then it is not trained again."""
        config = cell_config(self.config, cell, self.spec)
        entry = self.manifest["stages"].get("distilled")
        return (
            cell.is_run and entry is not None and (self.run_dir / "distilled" / "model").is_dir() and cell.seed == self.config.seed
            and config.student == self.config.student and config.student_params == self.config.student_params
            and not (self.out_dir / "corpus" / "corpus.json").is_file()
        )  # fmt: skip

    def _run_cell(self, cell: Cell, print_: str, folder: Path) -> dict[str, Any]:
        from ..students import load_student
        from .stages.augment import stage_augment
        from .stages.label import stage_label
        from .stages.students import stage_distilled

        started = time.perf_counter()
        partial = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        config = cell_config(self.config, cell, self.spec)
        figures: dict[str, Any] = {"n_labelled": 0, "n_new_labels": 0}
        if self._from_run(cell):
            self.log("  the run's own distilled student (same settings and seed): not trained again")
            model = self.run_dir / "distilled" / "model"
            trained = self.manifest["stages"]["distilled"]["summary"]
            figures["from_run"] = True
        else:
            folders = {name: partial / name for name in CELL_STAGES}
            for path in folders.values():
                path.mkdir()
            stage_augment(self._context(config, folders["augment"], folders))
            labelled = stage_label(self._context(config, folders["label"], folders))
            total = labelled["n_synthetic"] + labelled["n_unlabeled"]
            figures.update(n_labelled=total, n_new_labels=total - labelled["n_cached"])
            trained = stage_distilled(self._context(config, folders["distilled"], folders))
            model = folders["distilled"] / "model"
        student = load_student(model)
        for split in ("dev", "test"):
            data = self.split(split)
            space = data.label_space
            probs = np.asarray(student.predict_proba(data.texts), np.float32)
            with atomic_write(partial / f"{split}.npy", "wb") as handle:
                np.save(handle, probs)
            figures.update(split_figures(split, data.targets, probs, space.labels, space.multilabel))
        for name in CELL_STAGES:  # the labels stay in the run's cache; the figures in dev/test.npy
            shutil.rmtree(partial / name, ignore_errors=True)
        record = {
            **cell_record(cell), **figures, "train_seconds": round(float(trained.get("train_seconds") or 0.0), 3),
            "best_step": trained.get("best_step"), "steps": trained.get("steps"),
            "seconds": round(time.perf_counter() - started, 1), "fingerprint": print_,
        }  # fmt: skip
        write_json(partial / "cell.json", record)
        replace_directory(partial, folder)
        return record


def split_figures(split: str, targets: np.ndarray, probs: np.ndarray, labels: Any, multilabel: bool) -> dict[str, float]:
    """``<split>_accuracy`` and ``<split>_macro_f1`` of one cell's predictions."""
    from ..metrics import classification_metrics

    metrics = classification_metrics(targets, probs, labels, multilabel)
    return {f"{split}_accuracy": metrics["accuracy"], f"{split}_macro_f1": metrics["macro_f1"]}


def cell_record(cell: Cell) -> dict[str, Any]:
    """What ``sweep.json`` says of a cell's settings; ``strength`` is a number, None (no words changed)
    or, where the run gives its augmenters different change probabilities, "0.1/0.15"."""
    text = strength_text(cell)
    strength: float | str | None = None if text == "-" else (float(text) if "/" not in text else text)
    return {
        "key": cell.key, "augmenter": cell.series, "n_synthetic": cell.n_synthetic, "strength": strength,
        "params": dict(cell.params), "seed": cell.seed, "run_settings": cell.is_run,
    }  # fmt: skip


def describe(cell: Cell) -> str:
    """"tang, 10,000 synthetic, strength 0.1, seed 0" (and "the run's settings")."""
    what = f"{cell.series}, {cell.n_synthetic:,} synthetic, strength {strength_text(cell)}" if cell.n_synthetic else "gold + unlabelled texts only"
    return f"{what}, seed {cell.seed}" + (" (the run's settings)" if cell.is_run else "")


def _work(cell: Cell, manifest: dict[str, Any]) -> int:
    """A cell's examples to label and train on, for the time estimate."""
    data = manifest["stages"]["data"]["summary"]
    return cell.n_synthetic + data.get("n_unlabeled", 0) + data.get("n_train", 0)


def _read_cell(folder: Path, print_: str | None) -> dict[str, Any] | None:
    """A finished cell's record (None: not done, or done with other settings; ``print_`` None: any)."""
    try:
        record = read_json(folder / "cell.json")
    except (OSError, KdtextError):
        return None
    if print_ is not None and record.get("fingerprint") != print_:
        return None
    if not ((folder / "dev.npy").is_file() and (folder / "test.npy").is_file()):
        return None
    return record


def _mean_sd(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def summarise(sweep: Sweep, records: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``sweep.json`` holds: the cells, their settings averaged over seeds, the best
    setting on dev and McNemar's test of it against the run's own settings.

    The test pools the dev examples of every seed (pairs matched per seed: the
    Mantel-Haenszel test for matched pairs); the same test on the test split says
    whether a winner chosen on dev holds on data that did not choose it.
    """
    from ..metrics import correct_mask, dev_metric_name, mcnemar

    splits = {name: sweep.split(name) for name in ("dev", "test")}
    multilabel = splits["dev"].label_space.multilabel
    metric = dev_metric_name(multilabel)
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["augmenter"], record["n_synthetic"], str(record["strength"])), []).append(record)
    rows = []
    for (series, n, _), cells in groups.items():
        row: dict[str, Any] = {
            "augmenter": series, "n_synthetic": n, "strength": cells[0]["strength"], "params": cells[0]["params"],
            "seeds": [c["seed"] for c in cells], "keys": [c["key"] for c in cells],
            "run_settings": any(c["run_settings"] for c in cells), "new_labels": sum(c["n_new_labels"] for c in cells),
        }  # fmt: skip
        for figure in ("dev_accuracy", "test_accuracy", "dev_macro_f1", "test_macro_f1", "train_seconds"):
            row[figure], row[f"{figure}_sd"] = _mean_sd([c[figure] for c in cells])
        rows.append(row)
    best = max(rows, key=lambda r: (round(r[f"dev_{metric}"], 10), -r["n_synthetic"]))
    best["best"] = True
    own = next((r for r in rows if r["run_settings"]), None)
    comparison: dict[str, Any] | None = None
    if own is not None and own is not best:
        seeds = sorted(set(best["seeds"]) & set(own["seeds"]))
        comparison = {"best": best["keys"], "run_settings": own["keys"], "seeds": seeds}
        for name, data in splits.items():
            right = {}
            for side, row in (("best", best), ("run", own)):
                keys = [k for k, s in zip(row["keys"], row["seeds"]) if s in seeds]
                right[side] = np.concatenate([correct_mask(data.targets, np.load(sweep.out_dir / "cells" / k / f"{name}.npy"), multilabel) for k in keys])
            comparison[name] = {**mcnemar(right["best"], right["run"]), "difference": float(right["best"].mean() - right["run"].mean())}
    stages = sweep.manifest["stages"]
    teacher = stages["teacher"]["summary"].get("figures", {})
    report_path = sweep.run_dir / "report.json"
    tested = read_json(report_path).get("results", {}) if report_path.is_file() else {}
    references = {
        "teacher": {"dev": teacher.get("dev_metric"), "test": (tested.get("teacher") or {}).get(metric)},
        "baseline": {"dev": (stages.get("baseline") or {}).get("summary", {}).get("best_dev_score"), "test": (tested.get("baseline") or {}).get(metric)},
    }  # fmt: skip
    from .stages.evaluate import machine

    return {
        "kdtext_sweep": SWEEP_FORMAT, "run": str(sweep.run_dir), "selection_metric": metric,
        "grid": {**dataclasses.asdict(sweep.spec), "student": cell_config(sweep.config, sweep.cells[0], sweep.spec).student},
        "cells": [{k: v for k, v in r.items() if k != "fingerprint"} for r in records], "settings": rows,
        "best": {k: best[k] for k in ("augmenter", "n_synthetic", "strength", "params")},
        "run_settings": None if own is None else {k: own[k] for k in ("augmenter", "n_synthetic", "strength", "params")},
        "comparison": comparison, "references": references, "machine": machine(),
        # the cells' own wall time, over every call that made them (a resumed call's ``seconds`` is its own)
        "cells_seconds": round(sum(r.get("seconds") or 0.0 for r in records), 1),
    }  # fmt: skip


def toml_text(values: dict[str, Any]) -> str:
    """A TOML document of plain settings (strings, numbers, booleans, lists of them, one level of tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))  # a JSON string is a valid TOML basic string

    plain = [f"{k} = {value(v)}" for k, v in values.items() if v is not None and not isinstance(v, dict)]
    tables = [f"\n[{k}]\n" + "".join(f"{key} = {value(x)}\n" for key, x in v.items()) for k, v in values.items() if isinstance(v, dict) and v]
    return "\n".join(plain) + "\n" + "".join(tables)


def write_run_toml(sweep: Sweep, summary: dict[str, Any], path: Path) -> Path:
    """The run's settings with the best cell's augmenters, size and strength (and the sweep's student), as a ``run.toml``."""
    best = summary["best"]
    names = tuple(best["augmenter"].split("+")) if best["n_synthetic"] else tuple(sweep.config.augmenters)
    cell = Cell(names, best["n_synthetic"], tuple(sorted(best["params"].items())), sweep.config.seed)
    settings = cell_config(sweep.config, cell, sweep.spec).to_json()
    for name in ("train", "dev", "test", "unlabeled", "teacher_model"):  # the file may be read from another folder
        if settings.get(name) and Path(settings[name]).exists():
            settings[name] = str(Path(settings[name]).resolve())
    with atomic_write(path) as handle:
        what = f"{best['augmenter']}, {best['n_synthetic']:,} synthetic examples, strength {best['strength'] if best['strength'] is not None else '-'}"
        handle.write(f"# written by kdtext sweep {sweep.run_dir}: the best setting on dev ({what})\n")
        handle.write(toml_text(settings))
    return path
