"""Files and folders written so that an interruption never leaves half of one behind.

:func:`atomic_write` is the one function that writes a file (the others here are built
on it): the bytes go to a temporary file beside the target, which is flushed, synced
and renamed into place, with the permissions an ordinary ``open()`` would give under the
process's umask (``tempfile`` makes its files 0600 and its folders 0700, which other
users and the nodes of a cluster sharing the run folder could not read).
:func:`building_directory` does the same for a folder. Failures of the disk are one
line (:func:`os_error`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from .errors import KdtextError

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask (Python can only read it by setting it, so it is set back at once)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def os_error(path: str | os.PathLike, exc: OSError, what: str = "", kept: str = "nothing already written was changed") -> KdtextError:
    """One line for the user: where, what failed, why (a full disk, no permission...), and what is kept."""
    if exc.errno == errno.ENOSPC:
        why = "no space left on the device"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"cannot write here ({exc.strerror or 'read-only'})"
    else:
        why = exc.strerror or str(exc)
    return KdtextError(f"{path}: {what + ': ' if what else ''}{why}{'; ' + kept if kept else ''}")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it into place.

    The file gets mode 0666 less the umask, as ``open()`` would give it. On any failure
    the temporary file is removed and ``path`` keeps its old content.
    """
    path = Path(path)
    if "b" in mode:
        encoding = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise os_error(path, exc) from exc
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise os_error(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8), atomically."""
    with atomic_write(path) as handle:
        handle.write(text)


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_write(path) as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line, atomically; returns the number of rows."""
    count = 0
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def read_json(path: str | os.PathLike, *, error: Callable[[str], Exception] = KdtextError) -> Any:
    """The JSON content of the file at ``path``.

    An :class:`OSError` (a missing file, no permission) passes through: what it means is
    the caller's to say. Content that is not UTF-8 JSON raises ``error`` with one line
    naming the file (and the line, for invalid JSON).
    """
    path = Path(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
        raise error(f"{path}: invalid JSON ({str(exc).splitlines()[0]})") from None


def hash_file(path: str | os.PathLike, digest: Any = None) -> Any:
    """``digest`` (a new SHA-256 by default) updated with a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256() if digest is None else digest
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hash_file(path).hexdigest()


def make_temp_dir(beside: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """A new hidden folder beside ``beside`` (same file system, so it can be renamed into
    place), with mode 0777 less the umask like any ``mkdir``."""
    beside = Path(beside)
    beside.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{beside.name}.", suffix=suffix, dir=beside.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


@contextlib.contextmanager
def building_directory(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``target`` to build a folder in; on success it replaces
    ``target`` (:func:`replace_directory`), on failure it is removed and ``target`` kept."""
    tmp = make_temp_dir(target)
    try:
        yield tmp
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def aside_name(target: Path) -> Path:
    """Where :func:`replace_directory` moves an existing ``target`` while its replacement
    moves in (``.NAME.old-XXXXXXXX``; :func:`restore_aside` knows the pattern)."""
    return target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")


def replace_directory(built: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move the finished folder ``built`` to ``target``, replacing any folder there.

    An existing ``target`` is renamed aside first and removed only after ``built`` is in
    place, so at every moment ``target`` is either the old folder or the new one (after a
    kill in between, :func:`restore_aside` puts the old one back). If the second rename
    fails, the old folder is put back before the error is raised.
    """
    built, target = Path(built), Path(target)
    if not target.exists():
        os.replace(built, target)
        return
    old = aside_name(target)
    os.replace(target, old)
    try:
        os.replace(built, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def restore_aside(folder: str | os.PathLike) -> None:
    """Put back under its name every folder in ``folder`` that :func:`replace_directory`
    moved aside and whose replacement never arrived (the process was killed in between);
    remove the others."""
    for old in Path(folder).glob(".*.old-*"):
        final = old.with_name(old.name[1:].rsplit(".old-", 1)[0])
        if old.is_dir() and not final.exists():
            with contextlib.suppress(OSError):
                os.replace(old, final)
                continue
        shutil.rmtree(old, ignore_errors=True)
