"""The ``report`` stage: ``report.json`` and ``report.html`` from the manifest.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from ...io import atomic_write, write_json
from ..report import html_report
from ..runner import Runner, StageContext


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("kdtext", "torch", "transformers", "spacy", "thinc", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def _plugin_versions(runner: Runner) -> dict[str, str]:
    """Distribution -> version of each third-party plugin the run's stages used (from the manifest)."""
    found: dict[str, str] = {}
    for entry in runner.manifest["stages"].values():
        found.update(entry.get("plugins") or {})
    return dict(sorted(found.items()))


def _hashed(runner: Runner) -> dict[str, Any]:
    """What the stage fingerprints hashed besides the settings: the code of each distribution
    (version; source hash for an editable or local install), from the manifest."""
    from ..fingerprint import FINGERPRINT_VERSION

    code: dict[str, Any] = {}
    for entry in runner.manifest["stages"].values():
        code.update(entry.get("code") or {})
    return {"version": FINGERPRINT_VERSION, "code": dict(sorted(code.items()))}


def build_report(runner: Runner) -> dict[str, Any]:
    stages = runner.manifest["stages"]
    data = stages["data"]["summary"]
    results = stages["evaluate"]["summary"]["results"]
    curves = {
        name: [[point["step"], point["dev_score"]] for point in stages[name]["summary"].get("curve", []) if "dev_score" in point]
        for name in ("baseline", "distilled")
    }
    teacher_history = stages["teacher"]["summary"].get("figures", {}).get("history") or []
    # the teacher's dev score per epoch (a teacher that was loaded, not finetuned, has none)
    curves["teacher"] = [[row["epoch"], row["dev_metric"]] for row in teacher_history if row.get("dev_metric") is not None]
    return {
        "kdtext_report": 1,
        "task": data["task"],
        "labels": data["labels"],
        "n_train": data["n_train"],
        "n_dev": data["n_dev"],
        "n_test": data["n_test"],
        "n_transfer": stages["label"]["summary"]["n_synthetic"] + stages["label"]["summary"]["n_unlabeled"],
        "results": results,
        # how docs/s were measured: machine, threads, load (runs evaluated before kdtext 0.2 have none)
        "speed": stages["evaluate"]["summary"].get("speed"),
        "curves": curves,
        "teacher": stages["teacher"]["summary"],
        "augment": stages["augment"]["summary"],
        "labelling": stages["label"]["summary"],
        "training": {name: {k: v for k, v in stages[name]["summary"].items() if k != "curve"} for name in ("baseline", "distilled")},
        "stages": {name: {"seconds": entry["seconds"], "finished": entry["finished"]} for name, entry in stages.items() if name != "report"},
        "config": runner.config.to_json(),
        "versions": {**_versions(), **_plugin_versions(runner)},
        "fingerprint": _hashed(runner),
    }


def stage_report(ctx: StageContext) -> dict[str, Any]:
    report = build_report(ctx.runner)
    write_json(ctx.out / "report.json", report)
    with atomic_write(ctx.out / "report.html") as handle:
        handle.write(html_report(report))
    return {}
