"""Resumable stages: each writes its artifacts atomically and is skipped when unchanged.

A stage's output folder ``RUN_DIR/<stage>/`` is built under a temporary name and renamed
into place only when the stage has finished; then ``RUN_DIR/manifest.json`` records the
stage's fingerprint (a hash of the settings it depends on and of its upstream stages'
fingerprints) and a SHA-256 of every file it wrote. On a rerun a stage is skipped when
its fingerprint is unchanged and its files still match their checksums, so an
interrupted run resumes at the first unfinished stage and a changed setting reruns
exactly the stages it affects.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import KdtextError
from ..io import write_json

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Stage:
    """One step of a run.

    ``settings(config)`` returns what the stage depends on (beyond its upstream stages);
    ``run(ctx)`` writes into ``ctx.out`` and returns a JSON-able summary for the report.
    """

    name: str
    title: str
    run: Callable[["StageContext"], dict[str, Any]]
    settings: Callable[[Any], Any] = lambda config: None
    depends: tuple[str, ...] = ()


@dataclass
class StageContext:
    runner: "Runner"
    stage: Stage
    out: Path
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config(self) -> Any:
        return self.runner.config

    def input(self, stage_name: str) -> Path:
        """The finished output folder of an upstream stage."""
        return self.runner.run_dir / stage_name

    def summary(self, stage_name: str) -> dict[str, Any]:
        return self.runner.manifest["stages"][stage_name]["summary"]

    def log(self, message: str) -> None:
        self.runner.log(f"  {message}")


class Runner:
    """Runs stages in order inside ``run_dir``, resuming what an earlier run finished."""

    def __init__(self, config: Any, run_dir: str | Path, stages: list[Stage], *, quiet: bool = False):
        self.config = config
        self.run_dir = Path(run_dir)
        self.stages = stages
        self.quiet = quiet
        self.manifest: dict[str, Any] = {"stages": {}}
        self.executed: list[str] = []
        self.skipped: list[str] = []

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def _load_manifest(self) -> None:
        path = self.run_dir / MANIFEST
        if path.exists():
            try:
                self.manifest = json.loads(path.read_text("utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.log(f"kdtext: {path} is unreadable; rerunning every stage")
                self.manifest = {"stages": {}}
        self.manifest.setdefault("stages", {})

    def _clean_leftovers(self) -> None:
        for leftover in self.run_dir.glob(".*.partial"):
            shutil.rmtree(leftover, ignore_errors=True)

    def _is_done(self, stage: Stage, print_: str) -> bool:
        entry = self.manifest["stages"].get(stage.name)
        folder = self.run_dir / stage.name
        if not entry or entry.get("fingerprint") != print_ or not folder.is_dir():
            return False
        return checksums(folder) == entry.get("files")

    def run(self) -> dict[str, Any]:
        """Run every stage that is not already done; returns the manifest."""
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KdtextError(f"{self.run_dir}: cannot create the run folder ({exc.strerror})") from None
        self._load_manifest()
        self._clean_leftovers()
        prints: dict[str, str] = {}
        started = time.perf_counter()
        for number, stage in enumerate(self.stages, start=1):
            upstream = [prints[d] for d in stage.depends]
            print_ = fingerprint(stage.name, stage.settings(self.config), upstream)
            prints[stage.name] = print_
            label = f"[{number}/{len(self.stages)}] {stage.title}"
            if self._is_done(stage, print_):
                self.skipped.append(stage.name)
                self.log(f"{label}: done earlier, skipped")
                continue
            self.log(f"{label} ...")
            t0 = time.perf_counter()
            partial = self.run_dir / f".{stage.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            ctx = StageContext(self, stage, partial)
            summary = stage.run(ctx) or {}
            seconds = time.perf_counter() - t0
            final = self.run_dir / stage.name
            if final.exists():
                shutil.rmtree(final)
            partial.rename(final)
            self.manifest["stages"][stage.name] = {
                "fingerprint": print_,
                "files": checksums(final),
                "summary": summary,
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            write_json(self.run_dir / MANIFEST, self.manifest)
            self.executed.append(stage.name)
            self.log(f"{label}: done in {_duration(seconds)}")
        self.log(f"run finished in {_duration(time.perf_counter() - started)}: {self.run_dir}")
        return self.manifest


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"
