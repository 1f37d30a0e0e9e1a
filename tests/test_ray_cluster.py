"""Labelling on a real Ray cluster that loses a node in the middle of the job.

A head and two worker nodes, each started by its own ``ray start`` on this machine
(loopback only, a temp folder of their own). Once the teacher's first labels reach the
label cache, every process of the second worker node (its raylet and everything under
it: the actor labelling there, its agents) gets SIGKILL, as a crashed or preempted
machine would. ``kdtext label --engine ray`` must still finish, with the local engine's
output. About a minute: three Ray nodes start, and the head notices the lost node after
its health checks (tightened here to three missed checks of one second). Every process of
the cluster is ended when the test ends, pass or fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find a node's processes")]

from kdtext.default_plugins.bert.teacher import BertTeacher  # noqa: E402

from teacher_fixtures import binary_data, tiny_bert_dir, trained_dir, varied_texts  # noqa: E402,F401

RAY = [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())"]
#: The head declares a node dead after three missed health checks of one second (the default is about 15 s).
FAST_HEALTH_CHECKS = {"RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000", "RAY_health_check_failure_threshold": "3"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process of this machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry.name)] = (parent, cmdline)
    return found


def _with_descendants(roots: set[int], table: dict[int, tuple[int, str]]) -> set[int]:
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(child for child, (parent, _) in table.items() if parent == pid)
    return found


def _kill(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class LocalCluster:
    """A head and worker nodes, one ``ray start`` each, with a temp folder only they use."""

    def __init__(self) -> None:
        self.temp = Path("/tmp") / f"kdtext-ray-{uuid.uuid4().hex[:8]}"  # short: Ray's socket paths must fit 107 bytes
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, **FAST_HEALTH_CHECKS, "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"}
        if (Path.home() / ".ray" / "auth_token").is_file() or "RAY_AUTH_TOKEN" in os.environ:
            # a head finding a token uses it, and a node joining without RAY_AUTH_MODE=token is refused
            self.env["RAY_AUTH_MODE"] = "token"
        self.node_ports: list[int] = []

    def _start(self, *args: str) -> None:
        done = subprocess.run(
            [*RAY, "start", *args, "--num-cpus=1", "--disable-usage-stats"], env=self.env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, f"ray start {' '.join(args)}: {(done.stdout + done.stderr)[-3000:]}"

    def start(self, workers: int) -> None:
        self._start("--head", f"--port={self.port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false", f"--temp-dir={self.temp}")
        for _ in range(workers):
            port = _free_port()
            self.node_ports.append(port)
            self._start(f"--address={self.address}", "--node-ip-address=127.0.0.1", f"--node-manager-port={port}")

    def node_processes(self, node: int) -> set[int]:
        """Every process of worker node ``node``: its raylet and all under it."""
        table = _processes()
        port = self.node_ports[node]
        raylets = {pid for pid, (_, cmd) in table.items() if "raylet" in cmd and f"--node_manager_port={port}" in cmd}
        assert raylets, f"no raylet with --node_manager_port={port}"
        return _with_descendants(raylets, table)

    def shutdown(self) -> None:
        """SIGKILL every process that names this cluster's temp folder or port, and everything under them."""
        table = _processes()
        marks = (str(self.temp), f"{self.port}")
        ours = {pid for pid, (_, cmd) in table.items() if pid != os.getpid() and any(m in cmd for m in marks) and "ray" in cmd}
        _kill(_with_descendants(ours, table))


@pytest.fixture
def cluster():
    made = LocalCluster()
    try:
        made.start(workers=2)
        yield made
    finally:
        made.shutdown()


def test_labelling_survives_a_lost_node(cluster, trained_dir, tmp_path):
    # blocks of about 500 texts (24 in all): when the first one reaches the cache, the other 23 are queued or
    # being labelled, so the lost node holds work (with 3,000 texts a quiet machine could finish first)
    texts = varied_texts(12000, seed=11, longest=60)
    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out, cache = tmp_path / "labels.jsonl", tmp_path / "cache"
    command = [
        sys.executable, "-m", "kdtext", "label", str(source), "-o", str(out), "--model", str(trained_dir), "--cache", str(cache),
        "--engine", "ray", "--ray-address", cluster.address, "--backend", "torch", "--device", "cpu", "--batch-tokens", "256",
        "--no-progress", "--json",
    ]  # fmt: skip
    driver = subprocess.Popen(command, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not any(cache.rglob("chunk-*.npz")):  # the actors are loaded and labelling
            assert driver.poll() is None, f"the driver ended before the kill: {driver.communicate()}"
            assert time.monotonic() < deadline, "no labels reached the cache in 5 minutes"
            time.sleep(0.05)
        victims = cluster.node_processes(1)
        _kill(victims)
        stdout, stderr = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    figures = json.loads(stdout)
    engine = figures["engine"] if "engine" in figures else figures
    assert engine["actors_lost"] >= 1, engine  # the lost node's actor: noticed, not waited for
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["text"] for row in rows] == texts  # every row, once, in input order
    local = BertTeacher.load(trained_dir, device="cpu", num_threads=1)
    expected = local.label(texts, progress=False).probs
    got = np.asarray([[row["probs"][label] for label in local.label_space.labels] for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)
