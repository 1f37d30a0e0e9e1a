"""Issue #21, "nothing silently wrong": one run per folder, fingerprints that see code, files others can read.

The runs here use the `command` teacher (a few lines of Python) and small students, so
each `kdtext run` takes a few seconds.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdtext.cli import cli

from contract_fixtures import run_args, write_task
from teacher_fixtures import POSITIVE

LABELLER = textwrap.dedent(
    """
    import json, os, sys, time

    POSITIVE = {positive!r}
    gate = os.environ.get("LABELLER_GATE")
    if gate:  # hold the run here while the gate file exists, after saying so
        open(gate + ".reached", "w").close()
        while os.path.exists(gate):
            time.sleep(0.05)
    for line in sys.stdin:
        if line.strip():
            p = 0.8 if any(word in POSITIVE for word in json.loads(line)["text"].split()) else 0.3
            print(json.dumps({{"probs": {{"neg": 1 - p, "pos": p}}}}))
    """
).format(positive=POSITIVE[:3])


@pytest.fixture
def command_task(tmp_path) -> dict[str, Path]:
    files = write_task(tmp_path / "task", n_train=30, n_dev=12, n_test=12)
    files["labeller"] = tmp_path / "task" / "labeller.py"
    files["labeller"].write_text(LABELLER, encoding="utf-8")
    return files


def command_run_args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    """A small `kdtext run` with the command teacher and the bag-of-words student."""
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(files['labeller']))}"
    return run_args(files, out, "--teacher", "command", "--teacher-param", f"cmd={cmd}", "--student", "spacy-bow",
                    "--student-param", "max_epochs=2", "--student-param", "progress=false", *extra)  # fmt: skip


# -- item 5: files honour the umask --------------------------------------------------------


def test_every_file_of_a_run_folder_honours_the_umask(command_task, tmp_path):
    """Under umask 022 every file is 0644 and every folder 0755: readable by the other users and
    nodes that share the run folder (24 of 29 files were 0600 before: tempfile's mode)."""
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, command_run_args(command_task, tmp_path / "run"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    modes = {str(p.relative_to(tmp_path / "run")): stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "run").rglob("*")}
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != (0o755 if (tmp_path / "run" / name).is_dir() else 0o644)}
    assert not wrong, wrong
    assert {"report.html", "report.json", "manifest.json", "data/train.jsonl", "teacher/model/kdtext_teacher.json",
            "distilled/model/config.cfg"} <= set(modes) and any(name.startswith("cache/labels/") for name in modes)  # fmt: skip


def test_the_io_writers_honour_another_umask(tmp_path):
    from kdtext.io import building_directory, write_json

    old = os.umask(0o027)
    try:
        write_json(tmp_path / "a.json", {})
        with building_directory(tmp_path / "folder") as tmp:
            write_json(tmp / "b.json", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "folder" / "b.json").stat().st_mode) == 0o640
