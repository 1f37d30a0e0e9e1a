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

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import KdtextError
from ..io import sha256_file, write_json

__all__ = ["MANIFEST", "Runner", "Stage", "StageContext", "checksums", "fingerprint", "sha256_file"]

MANIFEST = "manifest.json"


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
    #: ``plugins(config)``: ``(hook, name)`` of each plugin whose code the stage runs, such as
    #: ``("register_teachers", "bert")``. The distribution and version of each third-party
    #: one are part of the fingerprint, so upgrading a plugin reruns the stages it affects.
    plugins: Callable[[Any], Iterable[tuple[str, str | None]]] = lambda config: ()


@dataclass
class StageContext:
    runner: "Runner"
    stage: Stage
    out: Path

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
            except OSError as exc:
                raise _os_error(path, exc, "cannot read the run's manifest") from None
        if not isinstance(self.manifest, dict) or not isinstance(self.manifest.get("stages", {}), dict):
            self.log(f"kdtext: {path} is not a kdtext manifest; rerunning every stage")
            self.manifest = {"stages": {}}
        self.manifest.setdefault("stages", {})

    def _clean_leftovers(self) -> None:
        # a stage folder moved aside for its replacement, which never arrived: put it back
        for old in self.run_dir.glob(".*.old"):
            final = self.run_dir / old.name[1 : -len(".old")]
            if old.is_dir() and not final.exists():
                with contextlib.suppress(OSError):
                    os.replace(old, final)
        # stage folders and files (manifest, report) that a killed run left half-built
        for leftover in [*self.run_dir.glob(".*.partial"), *self.run_dir.glob(".*.old"), *self.run_dir.glob(".*.tmp")]:
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    leftover.unlink()

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
            raise _os_error(self.run_dir, exc, "cannot create the run folder") from None
        self._load_manifest()
        self._clean_leftovers()
        prints: dict[str, str] = {}
        started = time.perf_counter()
        for number, stage in enumerate(self.stages, start=1):
            upstream = [prints[d] for d in stage.depends]
            used = plugin_versions(stage.plugins(self.config))
            # only with third-party plugins: runs of the built-ins keep the fingerprints they had
            print_ = fingerprint(stage.name, stage.settings(self.config), upstream, *([used] if used else []))
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
            try:
                partial.mkdir()
            except OSError as exc:
                raise _os_error(partial, exc, f"cannot start stage {stage.name!r}") from None
            ctx = StageContext(self, stage, partial)
            try:
                summary = stage.run(ctx) or {}
            except BaseException as exc:
                # a failed stage's half-built folder goes at once (it may be what filled the disk)
                shutil.rmtree(partial, ignore_errors=True)
                if isinstance(exc, OSError):  # disk full or read-only, inside a plugin's own writes
                    where = Path(exc.filename) if exc.filename else partial
                    raise _os_error(where, exc, f"stage {stage.name!r} failed") from None
                raise
            seconds = time.perf_counter() - t0
            final = self.run_dir / stage.name
            files = self._publish(partial, final)
            self.manifest["stages"][stage.name] = {
                "fingerprint": print_,
                "files": files,
                "summary": summary,
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **({"plugins": used} if used else {}),
            }
            write_json(self.run_dir / MANIFEST, self.manifest)
            self.executed.append(stage.name)
            self.log(f"{label}: done in {_duration(seconds)}")
        self.log(f"run finished in {_duration(time.perf_counter() - started)}: {self.run_dir}")
        return self.manifest

    def _publish(self, partial: Path, final: Path) -> dict[str, str]:
        """Swap a finished stage folder into place; returns its checksums.

        The old folder is renamed aside first, so a failure (or a kill) leaves either the
        old folder or the new one under the stage's name, never half of one.
        """
        old = final.with_name(f".{final.name}.old")
        try:
            files = checksums(partial)
            shutil.rmtree(old, ignore_errors=True)
            if final.exists():
                os.replace(final, old)
            os.replace(partial, final)
        except OSError as exc:
            if old.exists() and not final.exists():
                with contextlib.suppress(OSError):
                    os.replace(old, final)
            raise _os_error(final, exc, "cannot move the finished stage into place") from None
        shutil.rmtree(old, ignore_errors=True)
        return files


def plugin_versions(uses: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Distribution -> version of the third-party plugins among ``uses`` (``(hook, name)`` pairs).

    Built-in plugins are left out (they are kdtext's own version, listed in the report);
    a name of None (a stage that uses no plugin of that kind this time) is skipped.
    """
    from .. import plugins

    found: dict[str, str] = {}
    for hook, name in uses:
        if name is None:
            continue
        registration = plugins.get(hook, name)
        if registration.distribution != "kdtext":
            found[registration.distribution] = registration.version
    return dict(sorted(found.items()))


def _os_error(path: Path, exc: OSError, what: str) -> KdtextError:
    """One line for the user: what failed, where, why, and that finished work is kept."""
    if exc.errno == errno.ENOSPC:
        why = "no space left on the device"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"cannot write here ({exc.strerror or 'read-only'})"
    else:
        why = exc.strerror or str(exc)
    return KdtextError(f"{path}: {what}: {why}; stages finished earlier are kept, rerun to resume")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"
