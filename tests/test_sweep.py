"""`kdtext sweep` on a tiny run: it reuses the run's teacher and label cache, resumes cell by cell,
is the recipe's own distilled student for the run's settings, and says whether the best beats the run."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.pipeline import load_config
from kdtext.pipeline.recipe import run_recipe
from kdtext.pipeline.sweep import Sweep, SweepSpec, plan_cells, summarise

from teacher_fixtures import write_run_task

CELL_KEYS = {"augmenter", "n_synthetic", "strength", "seed", "dev_accuracy", "test_accuracy", "dev_macro_f1", "test_macro_f1", "train_seconds"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A tiny run, finished: tiny BERT teacher, tang augmentation of 300 examples, a small spacy-cnn student."""
    root = write_run_task(tmp_path_factory.mktemp("sweep"))
    run_recipe(load_config(root / "run.toml", {}), root / "run", quiet=True)
    return root / "run"


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    """A copy of the finished run, so that each test starts from the run's own label cache."""
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def _chunks(run_dir: Path) -> int:
    return sum(1 for _ in (run_dir / "cache" / "labels").rglob("chunk-*.npz"))


def test_a_sweep_reuses_the_label_cache_never_refits_the_teacher_and_resumes(run_copy, monkeypatch):
    from kdtext.default_plugins.bert import training
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.pipeline.stages import students

    def no_refit(*args, **kwargs):
        raise AssertionError("the sweep refitted the teacher")

    monkeypatch.setattr(BertTeacher, "fit", no_refit)
    monkeypatch.setattr(training, "fit_teacher", no_refit)
    chunks_before = _chunks(run_copy)
    spec = SweepSpec(augmenters=["tang", "mask"], sizes=[0, 150, 300], seeds=[0])
    real_distilled = students.stage_distilled
    calls = []

    def distil_then_interrupt(ctx):
        calls.append(ctx.config.n_synthetic)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_distilled(ctx)

    monkeypatch.setattr(students, "stage_distilled", distil_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        Sweep(run_copy, spec, quiet=True).run()
    cells = run_copy / "sweep" / "cells"
    # none, tang 150, mask 150 trained; tang 300 is the run's own student; mask 300 was interrupted and is not published
    assert sorted(p.name for p in cells.iterdir() if not p.name.startswith(".")) == [
        "mask-n150-s0.1-seed0", "none-n0-seed0", "tang-n150-s0.1-seed0", "tang-n300-s0.1-seed0",
    ]
    assert not (run_copy / "sweep" / "cache").exists()  # labels go to the run's own cache

    calls.clear()
    sweep = Sweep(run_copy, spec, quiet=True)
    records = sweep.run()
    assert calls == [300]  # the finished cells are not trained again, the interrupted one is
    assert [(r["augmenter"], r["n_synthetic"]) for r in records] == [("none", 0), ("tang", 150), ("mask", 150), ("tang", 300), ("mask", 300)]
    by_key = {(r["augmenter"], r["n_synthetic"]): r for r in records}
    # tang at 300 is the run's own settings: its distilled student, neither trained nor labelled again
    assert by_key["tang", 300]["run_settings"] and by_key["tang", 300]["from_run"] and by_key["tang", 300]["n_new_labels"] == 0
    # 150 tang examples are the first 150 of the run's 300 (same seed): all in the run's cache
    assert by_key["tang", 150]["n_labelled"] == 150 + 30 and by_key["tang", 150]["n_new_labels"] == 0
    assert by_key["none", 0]["n_labelled"] == 30 and by_key["none", 0]["n_new_labels"] == 0  # the pool only
    # mask examples are new to the teacher; the 300 set only adds to the 150 one
    assert 0 < by_key["mask", 150]["n_new_labels"] <= 150
    assert by_key["mask", 300]["n_new_labels"] <= 300 - by_key["mask", 150]["n_new_labels"]
    assert _chunks(run_copy) > chunks_before
    for record in records:
        assert CELL_KEYS <= set(record) and 0.0 <= record["dev_accuracy"] <= 1.0
    # the time of every cell, over both calls, not only the resumed call's
    trained = [r for r in records if not r.get("from_run")]
    assert summarise(sweep, records)["cells_seconds"] >= sum(r["train_seconds"] for r in trained) > 0

    # a rerun labels nothing and trains nothing
    calls.clear()
    chunks = _chunks(run_copy)
    assert Sweep(run_copy, spec, quiet=True).run() == records and not calls and _chunks(run_copy) == chunks


def test_the_run_settings_cell_trained_by_the_sweep_is_the_run_distilled_student(run_copy, monkeypatch):
    from kdtext.pipeline.artifacts import split_of
    from kdtext.students import load_student

    monkeypatch.setattr(Sweep, "_from_run", lambda self, cell: False)  # train it instead of reading the run's
    sweep = Sweep(run_copy, SweepSpec(), run_copy / "again", quiet=True)
    assert len(sweep.cells) == 1 and sweep.cells[0].is_run
    record = sweep.run()[0]
    assert "from_run" not in record and record["n_new_labels"] == 0
    dev = split_of(run_copy, "dev")
    from_run = load_student(run_copy / "distilled" / "model").predict_proba(dev.texts)
    assert np.allclose(np.load(run_copy / "again" / "cells" / record["key"] / "dev.npy"), from_run, atol=1e-6)


def test_a_sweep_holds_the_run_folder_lock_while_it_works(run_copy, monkeypatch):
    import os

    from kdtext.errors import KdtextError
    from kdtext.pipeline import runner
    from kdtext.pipeline.stages import students

    real_distilled, seen = students.stage_distilled, []

    def distil_while_another_driver_tries(ctx):
        holder = json.loads((run_copy / runner.LOCK_FILE).read_text("utf-8"))
        with pytest.raises(KdtextError, match=str(os.getpid())):  # a second driver (kdtext run, a sweep) is refused
            runner._acquire(run_copy / runner.LOCK_FILE)
        seen.append(holder["pid"])
        return real_distilled(ctx)

    monkeypatch.setattr(students, "stage_distilled", distil_while_another_driver_tries)
    Sweep(run_copy, SweepSpec(sizes=[0]), quiet=True).run()
    assert seen == [os.getpid()] and not (run_copy / runner.LOCK_FILE).exists()


def test_a_cell_fingerprint_sees_the_code_the_cell_runs(finished_run, tmp_path, monkeypatch):
    from kdtext.io import read_json
    from kdtext.pipeline import fingerprint

    sweep = Sweep(finished_run, SweepSpec(augmenters=["mask"], sizes=[150]), tmp_path / "sweep", quiet=True)
    sweep.manifest = read_json(finished_run / "manifest.json")
    cell = next(c for c in sweep.cells if c.augmenters == ("mask",))
    before, asked = sweep.cell_fingerprint(cell), []

    def upgraded(uses, cache=None):  # as if a plugin the cell runs had a new version
        asked.extend(uses)
        return {"kdtext-other": {"version": "2.0"}}

    monkeypatch.setattr(fingerprint, "code_identity", upgraded)
    assert sweep.cell_fingerprint(cell) != before
    assert {("register_augmenters", "mask"), ("register_teachers", "bert"), ("register_students", "spacy-cnn")} <= set(asked)


def test_summary_best_cell_paired_test_and_apply(run_copy):
    from kdtext.metrics import correct_mask, mcnemar
    from kdtext.pipeline.artifacts import split_of

    result = CliRunner().invoke(
        cli, ["sweep", str(run_copy), "--augmenter", "mask", "--augmenter", "ngram", "--sizes", "0,300", "--strength", "0.1,0.3", "--apply"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((run_copy / "sweep" / "sweep.json").read_text())
    assert "best on dev:" in result.output and "wrote the best setting to" in result.output
    # 0 once; mask at two strengths; ngram changes no words: one strength; and the run's own settings
    assert sorted((c["augmenter"], c["n_synthetic"], c["strength"]) for c in summary["cells"]) == [
        ("mask", 300, 0.1), ("mask", 300, 0.3), ("ngram", 300, None), ("none", 0, None), ("tang", 300, 0.1),
    ]
    metric = summary["selection_metric"]
    best = max(summary["settings"], key=lambda r: (r[f"dev_{metric}"], -r["n_synthetic"]))
    assert summary["best"]["augmenter"] == best["augmenter"] and summary["best"]["n_synthetic"] == best["n_synthetic"]
    dev = split_of(run_copy, "dev")
    for cell in summary["cells"]:  # every figure comes back from the predictions the cell kept
        probs = np.load(run_copy / "sweep" / "cells" / cell["key"] / "dev.npy")
        assert cell["dev_accuracy"] == pytest.approx(correct_mask(dev.targets, probs).mean())
    if summary["comparison"]:
        right = {
            side: correct_mask(dev.targets, np.load(run_copy / "sweep" / "cells" / keys[0] / "dev.npy"))
            for side, keys in (("best", summary["comparison"]["best"]), ("run", summary["comparison"]["run_settings"]))
        }
        assert summary["comparison"]["dev"]["p_value"] == pytest.approx(mcnemar(right["best"], right["run"])["p_value"])
        assert "against the run's settings (tang, 300 synthetic, strength 0.1)" in result.output
    page = (run_copy / "sweep" / "sweep.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 4  # dev and test, at two strengths
    assert "http" not in page.replace("http-equiv", "")
    settings = tomllib.loads((run_copy / "sweep" / "run.toml").read_text())
    config = load_config(run_copy / "sweep" / "run.toml", {})
    assert config.n_synthetic == summary["best"]["n_synthetic"] and Path(settings["train"]).is_absolute()
    if summary["best"]["n_synthetic"]:
        assert config.augmenters == summary["best"]["augmenter"].split("+") and config.augment_params == summary["best"]["params"]


def test_a_sweep_of_a_same_pos_augmenter_tags_the_corpus_the_run_left_untagged(run_copy, monkeypatch):
    from kdtext.pipeline import sweep as sweep_module

    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["stages"]["corpus"]["summary"]["tagged"] = False  # as a run with --augmenter mask leaves it
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    sweep = Sweep(run_copy, SweepSpec(augmenters=["pos"], sizes=[60]), quiet=True)
    [record] = [r for r in sweep.run() if r["augmenter"] == "pos"]
    assert (run_copy / "sweep" / "corpus" / "corpus.json").is_file() and record["n_labelled"] > 30
    assert not sweep_module.Sweep._from_run(sweep, sweep.cells[-1])  # the run's student was made from the untagged corpus


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sizes", "0,ten"], "give numbers of synthetic examples"),
        (["--strength", "1.5"], "probabilities between 0 and 1"),
        (["--augmenter", "tnag"], "unknown augmenter 'tnag'"),
        (["--augmenter", "tang", "--strength", "0.6"], "p_mask + p_pos must be at most 1"),
        (["--student-param", "widht=3"], "widht"),
    ],
)
def test_bad_sweep_settings_are_one_line_before_any_work(finished_run, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["sweep", str(finished_run), "-o", str(tmp_path / "s"), *args])
    assert result.exit_code == 2 if "--sizes" in args or "1.5" in args else result.exit_code == 1
    assert message in result.output, result.output
    assert not (tmp_path / "s").exists()


def test_a_folder_that_is_no_run_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(tmp_path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "no config.json" in result.output and "--config" in result.output


def test_plan_shares_the_gold_only_cell_and_merges_the_run_settings(finished_run):
    from kdtext.pipeline.sweep import read_run_config

    config = read_run_config(finished_run)
    cells = plan_cells(config, SweepSpec(augmenters=["tang", "mask"], sizes=[0, 300], strengths=[0.1, 0.2], seeds=[0, 1]))
    assert sum(1 for c in cells if not c.n_synthetic) == 2  # one per seed, whatever the augmenters
    run_cells = [c for c in cells if c.is_run]
    assert [(c.series, c.n_synthetic, c.strength, c.seed) for c in run_cells] == [("tang", 300, 0.1, 0), ("tang", 300, 0.1, 1)]
    assert len(cells) == 2 * (1 + 2 * 2)


def test_an_unfinished_run_is_swept_with_its_settings_given(finished_run, tmp_path, monkeypatch):
    from kdtext.pipeline.sweep import read_run_config

    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    config = read_run_config(run)
    for leftover in ("label", "baseline", "distilled", "reference", "evaluate", "report", "config.json", "report.json"):
        target = run / leftover
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    (tmp_path / "run.toml").write_text("data_note = 1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sweep", str(run), "--config", str(tmp_path / "run.toml")])
    assert result.exit_code == 1 and "unknown setting 'data_note'" in result.output
    gold_only, own = Sweep(run, SweepSpec(sizes=[0]), config=config, quiet=True).run()
    assert gold_only["n_synthetic"] == 0 and 0.0 <= gold_only["test_accuracy"] <= 1.0
    assert own["run_settings"] and "from_run" not in own and own["n_new_labels"] == 0  # trained now; labels from the cache
