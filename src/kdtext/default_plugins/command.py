"""The ``command`` teacher: any program that reads texts and writes probabilities.

A black box as teacher -- a served model, a rules system, a hosted LLM's classifier
behind a script -- for a model that cannot be finetuned here::

    kdtext run --teacher command --teacher-param cmd="python my_labeller.py" ...

The protocol: kdtext starts ``cmd`` (split like a shell would, run without a shell, in
``cwd``) once per batch of at most ``batch_size`` texts, writes one JSON line
``{"text": ...}`` per text to its standard input and closes it; the program writes
one JSON line ``{"probs": {"<label>": p, ...}}`` per input line, in order, to standard
output, with every label of the task, and exits with code 0. The program runs in its
own process group: once it has exited and its output is read, the batch is done and
whatever it left running is ended. Its standard error is shown in the message when it
fails and kept in ``stderr.log`` beside the label cache (``RUN/cache/labels/command-*/``
in a run) and, for the first dev examples it labels when set up, beside the saved teacher.

Answers are validated (a line that is not JSON, a missing or unknown label, too few or
too many lines, NaN, probabilities outside [0, 1], single-label rows that do not sum
to 1 are each one error naming the teacher and the example) and cached like the
``bert`` teacher's labels (:class:`kdtext.labelling.cache.LabelCache`), keyed on the
command and the text: a resumed run or a second run over the same texts does not ask
the program again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from ..base import Teacher
from ..errors import ConfigError, KdtextError, ModelError, TeacherOutputError
from ..hookspecs import hookimpl
from ..io import read_json, write_json, write_text
from ..labelling.validate import check_teacher_output
from ..labels import LabelSpace

if TYPE_CHECKING:
    from ..data import Dataset
    from ..labelling import LabelResult

META_FILE = "kdtext_teacher.json"
#: Dev examples the program labels when the teacher is set up: a broken program fails before any work.
PROBE_EXAMPLES = 8
#: Where the program's standard error is kept: beside the saved teacher (what it said while
#: probed) and in the label cache's folder (while labelling; in a run, both are under the run folder).
STDERR_LOG = "stderr.log"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def text_keys(namespace: str, texts: Sequence[str]) -> np.ndarray:
    """128-bit cache keys, uint64 ``(n, 2)``, of ``namespace`` + each text (BLAKE2b)."""
    keys = np.empty((len(texts), 2), dtype=np.uint64)
    flat = keys.view(np.uint8).reshape(len(texts), 16)
    prefix = namespace.encode("utf-8") + b"\0"
    for i, text in enumerate(texts):
        flat[i] = np.frombuffer(hashlib.blake2b(prefix + text.encode("utf-8"), digest_size=16).digest(), dtype=np.uint8)
    return keys


def run_program(argv: Sequence[str], payload: str, *, cwd: str, timeout: float) -> subprocess.CompletedProcess:
    """Run ``argv`` in its own process group with ``payload`` on its standard input; its exit
    code, standard output and standard error (UTF-8).

    The program is done when it has exited and the output it wrote is read: a child it
    left behind holding its standard output (``cmd &`` in a shell script) does not keep
    kdtext waiting, and the whole group is ended then, so nothing it started outlives the
    batch. :class:`subprocess.TimeoutExpired` (after ending the group) if the program has
    not exited within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: nothing can hold it open
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=cwd, start_new_session=True
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, payload.encode("utf-8")), daemon=True)
        feeder.start()
        out, fd = bytearray(), proc.stdout.fileno()
        os.set_blocking(fd, False)
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(fd, selectors.EVENT_READ)
                # read until the output ends, or until the program has exited (then what it left is drained below)
                while not _exited(proc.pid) and time.monotonic() < deadline:
                    if selector.select(timeout=min(0.05, max(deadline - time.monotonic(), 0))) and not _read(fd, out):
                        break  # end of output: it has exited, or is about to
                while not _exited(proc.pid) and time.monotonic() < deadline:
                    time.sleep(0.01)
                timed_out = not _exited(proc.pid)
                _end_group(proc.pid)  # the program's leftovers, before its pid is released by the wait below
                grace = time.monotonic() + 1.0  # the ended group's end of the pipe closes; a child that left the group is not waited for
                while time.monotonic() < grace and (not selector.select(timeout=0.05) or _read(fd, out)):
                    pass
        finally:
            _end_group(proc.pid)
            proc.stdout.close()
            returncode = proc.wait()
            feeder.join(timeout=1.0)
        if timed_out:
            raise subprocess.TimeoutExpired(list(argv), timeout)
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
    return subprocess.CompletedProcess(list(argv), returncode, out.decode("utf-8", errors="replace"), stderr)


def _feed(stdin: Any, data: bytes) -> None:
    """Write ``data`` to the program's standard input and close it (a program that stops reading is its own business)."""
    try:
        stdin.write(data)
    except OSError:  # BrokenPipeError: it exited without reading everything
        pass
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _read(fd: int, out: bytearray) -> bool:
    """Append what can be read from ``fd`` now; False at the end of the output."""
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return True
    out.extend(chunk)
    return bool(chunk)


def _exited(pid: int) -> bool:
    """Whether process ``pid`` (a child) has exited, without reaping it: its pid, which is its
    process group's, stays reserved until the group has been ended."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _end_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class CommandTeacher(Teacher):
    """Any program as the teacher: JSONL {"text": ...} lines in, {"probs": {label: p}} lines out.

    Parameters: ``cmd`` (the command line, required), ``batch_size`` (texts per run of
    the program, 256), ``timeout`` (seconds per batch, 600), ``cwd`` (where the program
    runs; default: the current directory when the teacher is set up, kept when it is
    saved, so a resumed run finds relative paths again).
    """

    name: ClassVar[str] = "command"
    defaults: ClassVar[dict[str, Any]] = {"cmd": None, "batch_size": 256, "timeout": 600, "cwd": None}
    trainable: ClassVar[bool] = False

    def __init__(self, **params: Any):
        super().__init__(**params)
        p = self.params
        if not isinstance(p["cmd"], str) or not p["cmd"].strip():
            raise ConfigError('teacher \'command\' needs cmd="PROGRAM ARGS", e.g. --teacher-param cmd="python my_labeller.py"')
        try:
            self.argv = shlex.split(p["cmd"])
        except ValueError as exc:
            raise ConfigError(f"teacher 'command': cannot split cmd {p['cmd']!r}: {exc}") from None
        for key in ("batch_size", "timeout"):
            if isinstance(p[key], bool) or not isinstance(p[key], (int, float)) or p[key] <= 0:
                raise ConfigError(f"teacher 'command': {key} must be a positive number, got {p[key]!r}")
        p["batch_size"] = int(p["batch_size"])
        p["cwd"] = str(Path(p["cwd"] or os.getcwd()).expanduser().resolve())
        self.label_space: LabelSpace | None = None
        #: What the program wrote on standard error, one entry per run that wrote something,
        #: not yet kept on disk (``label`` appends it to the label cache's STDERR_LOG, ``save`` writes it)
        self.stderr_log: list[str] = []

    # -- the program -------------------------------------------------------------------

    @property
    def who(self) -> str:
        return f"teacher 'command' (`{self.params['cmd']}`)"

    def _run_batch(self, texts: Sequence[str], first: int) -> np.ndarray:
        """Run the program once on ``texts`` (example numbers start at ``first``); validated probabilities.

        Its standard error is kept in :attr:`stderr_log` (``label`` writes it beside the
        label cache; ``save`` beside the saved teacher).
        """
        space = self._space()
        payload = "".join(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in texts)
        examples = f"examples {first}-{first + len(texts) - 1}"
        try:
            done = run_program(self.argv, payload, cwd=self.params["cwd"], timeout=self.params["timeout"])
        except FileNotFoundError:
            raise ConfigError(f"{self.who}: no such program {self.argv[0]!r} (run from {self.params['cwd']})") from None
        except subprocess.TimeoutExpired:
            raise TeacherOutputError(
                f"{self.who} did not finish a batch of {len(texts)} texts ({examples}) in {self.params['timeout']} s"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{self.who}: cannot run it: {exc}") from None
        if done.stderr.strip():
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self.stderr_log.append(f"== {stamp} {examples}, exit code {done.returncode}\n{done.stderr.rstrip()}\n")
        if done.returncode != 0:
            tail = " / ".join((done.stderr or "").strip().splitlines()[-3:]) or "no message on stderr"
            raise TeacherOutputError(f"{self.who} exited with code {done.returncode} on {examples}: {tail}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if len(lines) != len(texts):
            raise TeacherOutputError(
                f"{self.who} wrote {len(lines)} output line(s) for {len(texts)} input lines (examples {first}-"
                f"{first + len(texts) - 1}); it must write one {{\"probs\": ...}} line per input line, in order"
            )
        labels = space.labels
        out = np.zeros((len(texts), len(labels)), np.float32)
        for i, (line, text) in enumerate(zip(lines, texts)):
            where = f"example {first + i} ({_shown(text)})"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TeacherOutputError(f"{self.who}: output line {i + 1} for {where} is not JSON ({exc.msg}): {line[:80]!r}") from None
            probs = row.get("probs") if isinstance(row, dict) else None
            if not isinstance(probs, dict):
                raise TeacherOutputError(f"{self.who}: output line {i + 1} for {where} has no \"probs\" object: {line[:80]!r}")
            missing = [label for label in labels if label not in probs]
            unknown = [str(label) for label in probs if label not in labels]
            if missing or unknown:
                problem = f"lacks label(s) {', '.join(missing)}" if missing else f"has unknown label(s) {', '.join(unknown)}"
                raise TeacherOutputError(f"{self.who}: the probs for {where} {problem}; the labels are {', '.join(labels)}")
            for j, label in enumerate(labels):
                value = probs[label]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TeacherOutputError(f"{self.who}: the probability of {label!r} for {where} is {value!r}, not a number")
                out[i, j] = value
        return check_teacher_output(
            out, len(texts), space, teacher=self.who, where=lambda i: f"example {first + i} ({_shown(texts[i])})"
        )

    def _space(self) -> LabelSpace:
        if self.label_space is None:
            raise ModelError("teacher 'command' does not know the labels yet: call fit(train) or load() first")
        return self.label_space

    # -- the Teacher contract ----------------------------------------------------------

    def fit(self, train: "Dataset", dev: "Dataset | None" = None) -> dict[str, Any]:
        """Nothing to train: adopt the training labels and check the program on a few examples."""
        self.label_space = train.label_space
        probe = (dev if dev is not None and len(dev) else train).texts[:PROBE_EXAMPLES]
        self._run_batch(probe, 0)
        return {"cmd": self.params["cmd"], "cwd": self.params["cwd"], "probed": len(probe)}

    def label(
        self,
        texts: Sequence[str] | None = None,
        ids: Any = None,
        *,
        cache_dir: str | os.PathLike | None = None,
        device: Any = None,
        batch_tokens: int | None = None,
        quantize: str | None = None,
        progress: Any = True,
        **options: Any,
    ) -> "LabelResult":
        """Probabilities for ``texts`` in batches of ``batch_size``, through the label cache in ``cache_dir``.

        ``ids`` are not supported (the program reads texts); ``device``,
        ``batch_tokens`` and the other options of token-budget teachers
        (``max_batch_size``, ``precision``...) do not apply and are ignored;
        ``quantize`` is refused.
        """
        from ..labelling import LabelResult
        from ..labelling.cache import LabelCache

        if ids is not None or texts is None:
            raise ConfigError("teacher 'command' labels texts, not token ids")
        if quantize:
            raise ConfigError("teacher 'command' cannot be quantized: it runs a program")
        started = time.perf_counter()
        space = self._space()
        texts = list(texts)
        n, k = len(texts), len(space)
        probs = np.zeros((n, k), np.float32)
        todo = np.arange(n)
        cache = None
        if cache_dir is not None and n:
            cache = LabelCache(cache_dir, self.fingerprint(), k)
            keys = text_keys(self.params["cmd"], texts)
            found, cached, _ = cache.lookup(keys)
            probs[found] = cached[found]
            todo = np.flatnonzero(~found)
        size = self.params["batch_size"]
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            try:
                got = self._run_batch([texts[i] for i in batch], int(batch[0]))
            finally:
                if cache is not None:
                    self._keep_stderr(cache.path / STDERR_LOG, append=True)
            probs[batch] = got
            if cache is not None:
                cache.add(keys[batch], got)
        seconds = time.perf_counter() - started
        return LabelResult(
            probs=probs, logits=self._logits(probs), n_truncated=0, n_cached=n - len(todo), n_computed=len(todo),
            seconds=seconds, device="command", variant="command", batch_tokens=0,
        )  # fmt: skip

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The program's probabilities for ``texts`` (no cache)."""
        return self.label(list(texts), progress=False).probs

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Scores that give back the program's probabilities: log p (single-label), log p/(1-p) (multi-label)."""
        return self._logits(self.predict_proba(texts))

    def _logits(self, probs: np.ndarray) -> np.ndarray:
        p = np.clip(probs.astype(np.float64), 1e-12, 1 - 1e-12)
        scores = np.log(p / (1 - p)) if self._space().multilabel else np.log(p)
        return scores.astype(np.float32)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``kdtext_teacher.json``: the command, where it runs, its settings and the labels."""
        space = self._space()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / META_FILE, {
            "kdtext_teacher": 1, "teacher": self.name, "params": dict(self.params),
            "labels": list(space.labels), "multilabel": space.multilabel,
        })  # fmt: skip
        self._keep_stderr(path / STDERR_LOG)  # what the program said while fit() probed it

    def _keep_stderr(self, path: Path, append: bool = False) -> None:
        """Write what the program said on standard error (if anything) to ``path``, then forget it."""
        if not self.stderr_log:
            return
        if append:  # several labelling workers may share the cache folder: one write per batch
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("".join(self.stderr_log))
        else:
            write_text(path, "".join(self.stderr_log))
        self.stderr_log.clear()

    @classmethod
    def is_saved(cls, path: str | os.PathLike) -> bool:
        try:
            return read_json(Path(path) / META_FILE).get("teacher") == cls.name
        except (OSError, KdtextError, AttributeError):
            return False

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CommandTeacher":
        """A teacher written by :meth:`save`."""
        meta_path = Path(path) / META_FILE
        try:
            meta = read_json(meta_path, error=ModelError)
        except FileNotFoundError:
            raise ModelError(f"{path}: not a saved 'command' teacher (no {META_FILE})") from None
        except OSError as exc:
            raise ModelError(f"{meta_path}: unreadable: {exc}") from None
        if not isinstance(meta, dict) or meta.get("teacher") != cls.name:
            raise ModelError(f"{meta_path}: written by teacher {meta.get('teacher') if isinstance(meta, dict) else None!r}, not 'command'")
        teacher = cls(**{k: v for k, v in meta["params"].items() if k in cls.defaults})
        teacher.label_space = LabelSpace(tuple(meta["labels"]), bool(meta.get("multilabel")))
        return teacher

    def fingerprint(self) -> str:
        """``command-`` + a hash of the command, where it runs and the label order."""
        space = self._space()
        blob = json.dumps([self.params["cmd"], self.params["cwd"], list(space.labels), space.multilabel]).encode()
        return "command-" + hashlib.sha256(blob).hexdigest()[:16]

    def size_bytes(self) -> int | None:
        """Unknown: the model behind the program is a black box."""
        return None


@hookimpl
def register_teachers(register):
    register("command", CommandTeacher)
