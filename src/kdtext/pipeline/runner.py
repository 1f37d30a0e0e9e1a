"""Resumable stages: each writes its artifacts atomically and is skipped when unchanged.

A stage's output folder ``RUN_DIR/<stage>/`` is built under a temporary name and renamed
into place only when the stage has finished; then ``RUN_DIR/manifest.json`` records the
stage's fingerprint (:mod:`kdtext.pipeline.fingerprint`: a hash of the settings it depends
on, of its upstream stages' fingerprints and of the code it runs) and a SHA-256 of every
file it wrote. On a rerun a stage is skipped when its fingerprint is unchanged and its
files still match their checksums, so an interrupted run resumes at the first unfinished
stage and a changed setting reruns exactly the stages it affects.

One run per folder: a run holds ``RUN_DIR/.kdtext-run.lock`` (:func:`run_folder_lock`)
from start to end, so a second run on the same folder stops at once, naming the first.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import KdtextError
from ..io import os_error, read_json, replace_directory, restore_aside, sha256_file, write_json
from .fingerprint import FINGERPRINT_VERSION, code_identity, fingerprint, stage_fingerprint, v1_fingerprint

__all__ = ["LOCK_FILE", "MANIFEST", "Runner", "Stage", "StageContext", "checksums", "fingerprint", "run_folder_lock", "sha256_file"]

MANIFEST = "manifest.json"
LOCK_FILE = ".kdtext-run.lock"
#: What a failed stage keeps, for the one line of a disk error.
KEPT = "stages finished earlier are kept, rerun to resume"


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


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
    #: one, and the hash of its source if it is installed editable or from a local path, are
    #: part of the fingerprint, so upgrading or editing a plugin reruns the stages it affects.
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
        try:
            self.manifest = read_json(path, error=ValueError)
        except FileNotFoundError:
            self.manifest = {"fingerprint_version": FINGERPRINT_VERSION, "stages": {}}
        except ValueError:
            self.log(f"kdtext: {path} is unreadable; rerunning every stage")
            self.manifest = {"fingerprint_version": FINGERPRINT_VERSION, "stages": {}}
        except OSError as exc:
            raise os_error(path, exc, "cannot read the run's manifest", KEPT) from None
        if not isinstance(self.manifest, dict) or not isinstance(self.manifest.get("stages", {}), dict):
            self.log(f"kdtext: {path} is not a kdtext manifest; rerunning every stage")
            self.manifest = {"fingerprint_version": FINGERPRINT_VERSION, "stages": {}}
        self.manifest.setdefault("stages", {})

    def _clean_leftovers(self) -> None:
        # a stage folder moved aside for its replacement, which never arrived: put it back
        restore_aside(self.run_dir)
        # stage folders and files (manifest, report) that a killed run left half-built
        for leftover in [*self.run_dir.glob(".*.partial"), *self.run_dir.glob(".*.tmp")]:
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

    def _plan(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Stage name -> (fingerprint, the code it hashed), for every stage; a manifest of
        fingerprint version 1 is brought to the current version on the way (:meth:`_adopt`)."""
        plan: dict[str, tuple[str, dict[str, Any]]] = {}
        old: dict[str, str] = {}
        sources: dict[str, Any] = {}
        for stage in self.stages:
            settings, code = stage.settings(self.config), code_identity(stage.plugins(self.config), sources)
            plan[stage.name] = (stage_fingerprint(stage.name, settings, [plan[d][0] for d in stage.depends], code), code)
            old[stage.name] = v1_fingerprint(stage.name, settings, [old[d] for d in stage.depends], code)
        if self.manifest.get("fingerprint_version", 1) < FINGERPRINT_VERSION:
            self._adopt(plan, old)
        return plan

    def _adopt(self, plan: dict[str, tuple[str, dict[str, Any]]], old: dict[str, str]) -> None:
        """A manifest of fingerprint version 1 (kdtext 0.1.0): each stage whose recorded
        fingerprint is the one version 1 gives these settings is done with the code installed now."""
        adopted = []
        for name, entry in self.manifest["stages"].items():
            if name in plan and entry.get("fingerprint") == old[name]:
                entry["fingerprint"], entry["code"] = plan[name]
                adopted.append(name)
        self.manifest["fingerprint_version"] = FINGERPRINT_VERSION
        if adopted:
            write_json(self.run_dir / MANIFEST, self.manifest)
            self.log(f"kdtext: {MANIFEST} is of fingerprint version 1 (kdtext 0.1.0): its {len(adopted)} finished stage(s) "
                     f"with unchanged settings are kept ({', '.join(adopted)})")  # fmt: skip

    def run(self) -> dict[str, Any]:
        """Run every stage that is not already done, holding the run folder's lock; returns the manifest."""
        with run_folder_lock(self.run_dir):
            return self._run()

    def _run(self) -> dict[str, Any]:
        self._load_manifest()
        self._clean_leftovers()
        plan = self._plan()
        started = time.perf_counter()
        for number, stage in enumerate(self.stages, start=1):
            print_, code = plan[stage.name]
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
                raise os_error(partial, exc, f"cannot start stage {stage.name!r}", KEPT) from None
            ctx = StageContext(self, stage, partial)
            try:
                summary = stage.run(ctx) or {}
            except BaseException as exc:
                # a failed stage's half-built folder goes at once (it may be what filled the disk)
                shutil.rmtree(partial, ignore_errors=True)
                if isinstance(exc, OSError):  # disk full or read-only, inside a plugin's own writes
                    where = Path(exc.filename) if exc.filename else partial
                    raise os_error(where, exc, f"stage {stage.name!r} failed", KEPT) from None
                raise
            seconds = time.perf_counter() - t0
            files = self._publish(partial, self.run_dir / stage.name)
            used = {dist: info["version"] for dist, info in code.items() if dist != "kdtext"}
            self.manifest["stages"][stage.name] = {
                "fingerprint": print_,
                "files": files,
                "summary": summary,
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "code": code,
                **({"plugins": used} if used else {}),
            }
            write_json(self.run_dir / MANIFEST, self.manifest)
            self.executed.append(stage.name)
            self.log(f"{label}: done in {_duration(seconds)}")
        self.log(f"run finished in {_duration(time.perf_counter() - started)}: {self.run_dir}")
        return self.manifest

    def _publish(self, partial: Path, final: Path) -> dict[str, str]:
        """Swap a finished stage folder into place (:func:`kdtext.io.replace_directory`); returns its checksums."""
        try:
            files = checksums(partial)
            replace_directory(partial, final)
        except OSError as exc:
            raise os_error(final, exc, "cannot move the finished stage into place", KEPT) from None
        return files


def plugin_versions(uses: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Distribution -> version of the third-party plugins among ``uses`` (``(hook, name)`` pairs).

    Built-in plugins are left out (they are kdtext's own version, listed in the report);
    a name of None (a stage that uses no plugin of that kind this time) is skipped.
    """
    return {dist: info["version"] for dist, info in code_identity(uses).items() if dist != "kdtext"}


#: run folders this process holds the lock of -> how many holders nest in it
_held: dict[str, int] = {}


@contextlib.contextmanager
def run_folder_lock(run_dir: str | os.PathLike, command: str | None = None) -> Iterator[None]:
    """Hold ``RUN_DIR/.kdtext-run.lock`` (created with the folder if need be) while the block runs.

    The lock is the operating system's (``flock``), so it goes with the process however it
    ends: a run killed with SIGKILL never blocks the next (its lock file stays, stale and
    harmless; a run that ends removes its own). If another process holds it, a
    :class:`KdtextError` says at once which one (pid, host, start, command). Re-entrant
    within a process. On a shared file system the lock is as good as its ``flock`` (NFS
    v4 and most cluster file systems honour it).
    """
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(run_dir, exc, "cannot create the run folder", KEPT) from None
    key = os.path.realpath(run_dir)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    handle = _acquire(run_dir / LOCK_FILE)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": command or " ".join(["kdtext", *sys.argv[1:]])[:200],
        }) + "\n")  # fmt: skip
        handle.flush()
        _held[key] = 1
        yield
    finally:
        _held.pop(key, None)
        with contextlib.suppress(OSError):
            os.unlink(run_dir / LOCK_FILE)  # while still held: see _acquire
        handle.close()  # releases the lock


def _acquire(path: Path) -> Any:
    """Open and ``flock`` the lock file at ``path``; the open file, or a KdtextError naming the holder.

    A holder removes the file before it lets go, so a lock taken on a file that is no
    longer the one at ``path`` is let go and taken again on the new one.
    """
    import fcntl

    while True:
        try:
            handle = open(path, "a+", encoding="utf-8")
        except OSError as exc:
            raise os_error(path, exc, "cannot lock the run folder", KEPT) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read()
            handle.close()
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise os_error(path, exc, "cannot lock the run folder", KEPT) from None
            raise KdtextError(
                f"{path.parent}: another kdtext run is using this folder ({_holder(holder)}); one run per folder: "
                "wait for it to finish, or write to another folder (-o)"
            ) from None
        try:
            if os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()


def _holder(text: str) -> str:
    """Who holds a lock, from what the holder wrote in the lock file."""
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on {info['host']}, started {info['started']}: {info['command']}"
    except (ValueError, TypeError, KeyError):
        return "its process did not say which it is"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"
