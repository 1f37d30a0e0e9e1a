"""SIGKILL ``kdtext run`` at random moments in every stage, again and again, then finish it.

Each rerun must resume; after every kill the run folder holds only complete stage
folders whose files match the manifest's checksums; and the final report's results
equal those of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kdtext.pipeline.recipe import STAGES
from kdtext.pipeline.runner import LOCK_FILE, checksums

from test_run import task  # noqa: F401  (the module fixture: a tiny BERT task)

N_STAGES = len(STAGES)
#: kill targets, in order: stage number (1-based) whose start (or a later one's) arms the kill
TARGETS = [1, 2, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9, 9]
#: seconds after that stage starts, at most (the teacher stage takes several seconds)
MAX_DELAY = {2: 4.0}
COMPARED = ("accuracy", "macro_f1", "micro_f1", "per_class", "confusion_matrix", "n")  # not timings or sizes


def _command(task: Path, run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "kdtext", "run", "--config", str(task / "run.toml"), "-o", str(run_dir), "--json"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "KDTEXT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _run_and_kill(task: Path, run_dir: Path, env: dict[str, str], target: int, delay: float) -> tuple[bool, str]:
    """Start a run; once stage ``target`` (or a later one) starts, wait ``delay`` s and SIGKILL it.

    Returns (killed, what the last stage line said).
    """
    proc = subprocess.Popen(_command(task, run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    last = ""
    for line in proc.stderr:
        if line.startswith("["):
            last = line.strip()
        number = int(line[1 : line.index("/")]) if line.startswith("[") and "/" in line else 0
        if number >= target and line.rstrip().endswith("..."):
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return proc.returncode == -signal.SIGKILL, last
    rc = proc.wait()
    assert rc == 0, f"run failed (exit {rc}) after {last!r}"
    return False, last


def _check_run_folder(run_dir: Path) -> None:
    """Nothing half-written is visible: the manifest parses and every stage it lists matches its checksums."""
    if not run_dir.exists():
        return
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"stages": {}}
    names = {stage.name for stage in STAGES}
    orphans = []
    for entry in run_dir.iterdir():
        if entry.name.startswith("."):
            # a killed run leaves only hidden, temporary names, which the next run removes, and its
            # lock file, which the next run takes over (the kill released the lock itself)
            assert entry.name.endswith((".partial", ".tmp")) or ".old-" in entry.name or entry.name == LOCK_FILE, entry.name
        elif entry.name in names:
            if entry.name in manifest["stages"]:
                assert checksums(entry) == manifest["stages"][entry.name]["files"], entry.name
            else:
                orphans.append(entry.name)  # killed between moving the folder in and recording it
        elif entry.suffix == ".json":
            json.loads(entry.read_text())
        else:
            assert entry.name in ("cache", "report.html"), entry.name
    assert len(orphans) <= 1, orphans
    for path in run_dir.glob("[!.]*/**/*.json"):
        if not any(part.startswith(".") for part in path.relative_to(run_dir).parts):
            json.loads(path.read_text())


def _results(report: dict) -> dict:
    results = report["results"]
    out = {name: {k: results[name][k] for k in COMPARED} for name in ("baseline", "teacher", "distilled")}
    out["gap_recovered"] = results["gap_recovered"]
    return out


@pytest.mark.slow
def test_sigkill_in_every_stage_then_resume_gives_the_same_report(task, tmp_path):  # noqa: F811
    env = _env(tmp_path)
    reference_dir = tmp_path / "reference"
    done = subprocess.run(_command(task, reference_dir), capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    reference = json.loads(done.stdout)

    rng = random.Random(20240607)
    run_dir = tmp_path / "killed"
    kills, stages_hit = 0, set()
    for target in TARGETS:
        delay = rng.uniform(0.0, MAX_DELAY.get(target, 0.6))
        killed, last = _run_and_kill(task, run_dir, env, target, delay)
        _check_run_folder(run_dir)
        if not killed:
            break
        kills += 1
        stages_hit.add(last)
    final = subprocess.run(_command(task, run_dir), capture_output=True, text=True, env=env)
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)
    _check_run_folder(run_dir)
    print(f"\n{kills} kills survived; last stage lines at the kills: {sorted(stages_hit)}")
    assert kills >= 10, (kills, stages_hit)

    assert _results(report) == _results(reference)
    assert np.array_equal(np.load(run_dir / "label" / "probs.npy"), np.load(reference_dir / "label" / "probs.npy"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    # every stage once, in the recipe's order: a stage enters the manifest only after those before it
    assert list(manifest["stages"]) == [s.name for s in STAGES]
    for name, entry in manifest["stages"].items():
        assert checksums(run_dir / name) == entry["files"]


# -- labelling gives the same floats whatever the cache holds ---------------------------------

from teacher_fixtures import binary_data, teacher, tiny_bert_dir, trained_dir  # noqa: E402,F401


def test_interrupted_labelling_resumes_to_bitwise_equal_labels(teacher, trained_dir, tmp_path):  # noqa: F811
    """Batches run longest first and are cached whole, so an interrupted job's cache holds a
    prefix of its batches and the resumed job forms exactly the remaining batches: every
    example is computed in the same batch as in an uninterrupted job (batch composition
    changes the last bits of the floats), and the labels are bitwise equal."""
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from teacher_fixtures import ForwardCounter, varied_texts

    texts = varied_texts(600, longest=40)
    reference = teacher.label(texts, batch_tokens=2000, progress=False)

    def crash(counter, ids):
        if counter.calls == 3:
            raise KeyboardInterrupt

    ForwardCounter(teacher.model, fail=crash)
    with pytest.raises(KeyboardInterrupt):
        teacher.label(texts, cache_dir=tmp_path, batch_tokens=2000, flush_every=1, progress=False)
    fresh = BertTeacher.load(trained_dir, device="cpu", num_threads=1)  # a new process, in effect
    resumed = fresh.label(texts, cache_dir=tmp_path, batch_tokens=2000, progress=False)
    assert 0 < resumed.n_cached < len(texts)
    assert np.array_equal(resumed.probs, reference.probs)
    assert np.array_equal(resumed.logits, reference.logits)
