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


# -- item 1: one run per folder ------------------------------------------------------------


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"the run ended early: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds} s"
        time.sleep(0.05)


def test_a_second_run_on_a_folder_stops_at_once_naming_the_first_and_a_killed_run_never_blocks(command_task, tmp_path):
    """Two `kdtext run` on one folder both ran before (with seeds 0 and 1 the first printed the
    second's figures); now the second stops at once, naming the first, and a SIGKILLed run's
    lock goes with its process."""
    run_dir, gate = tmp_path / "run", tmp_path / "gate"
    gate.touch()  # the first run waits in its teacher's first call, holding the folder
    command = [sys.executable, "-m", "kdtext", *command_run_args(command_task, run_dir)]
    env = {**os.environ, "LABELLER_GATE": str(gate)}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for(Path(f"{gate}.reached"), first)
        started = time.monotonic()
        second = subprocess.run([*command, "--seed", "1"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1, second.stderr[-2000:]
        line = second.stderr.strip()
        assert line.count("\n") == 0 and f"{run_dir}: another kdtext run is using this folder (pid {first.pid} on " in line, line
        assert "started 20" in line and "one run per folder" in line
        assert time.monotonic() - started < 60  # at once: it did not wait for the first
        assert not (run_dir / "teacher").exists()

        os.killpg(first.pid, signal.SIGKILL)  # the run and its teacher's program
        first.wait(timeout=30)
    finally:
        gate.unlink(missing_ok=True)  # whatever waits at the gate goes on (and ends)
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    third = CliRunner().invoke(cli, command_run_args(command_task, run_dir))
    assert third.exit_code == 0, third.output
    assert (run_dir / "report.json").exists() and not (run_dir / ".kdtext-run.lock").exists()


def test_the_lock_is_reentrant_in_a_process_and_refused_to_another(tmp_path):
    from kdtext.errors import KdtextError
    from kdtext.pipeline.runner import run_folder_lock

    with run_folder_lock(tmp_path / "run", command="kdtext run --test"):
        with run_folder_lock(tmp_path / "run"):  # run_recipe holds it, then its Runner takes it again
            pass
        probe = "import sys; from kdtext.pipeline.runner import run_folder_lock\nwith run_folder_lock(sys.argv[1]): pass"
        other = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "run")], capture_output=True, text=True)
        assert other.returncode == 1 and "KdtextError" in other.stderr
        assert f"pid {os.getpid()} on " in other.stderr and "kdtext run --test" in other.stderr
    with pytest.raises(KdtextError, match="cannot create the run folder"):
        with run_folder_lock("/proc/kdtext-run"):
            pass
    assert not (tmp_path / "run" / ".kdtext-run.lock").exists()


# -- item 2: fingerprints that see code ----------------------------------------------------

EDITABLE_AUGMENTER = '''
import kdtext
from kdtext.augment import SyntheticSet


class FirstWords(kdtext.Augmenter):
    """The first three words of each text."""

    name = "first-words"
    defaults = {}

    def augment(self, corpus, n, *, seed=0):
        examples = [list(corpus.doc_word_ids(i))[:3] for i in range(min(n, corpus.n_docs))]
        return SyntheticSet.from_word_ids(corpus, examples, sources=range(len(examples)), augmenter=self.name)


@kdtext.hookimpl
def register_augmenters(register):
    register("first-words", FirstWords)
'''


def _editable_distribution(root: Path, name: str, module: str, source: str) -> Path:
    """What `pip install -e` leaves: a dist-info whose direct_url.json says editable, and the source where it is."""
    (root / "src" / module).mkdir(parents=True)
    (root / "src" / module / "__init__.py").write_text(source, encoding="utf-8")
    info = root / "site" / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "direct_url.json").write_text(json.dumps({"url": (root / "src").as_uri(), "dir_info": {"editable": True}}))
    return root / "src" / module / "__init__.py"


def test_editing_an_editable_plugin_reruns_the_stages_that_run_its_code(command_task, tmp_path, register_plugin, monkeypatch):
    """Same version, edited source: all 11 stages were "done earlier, skipped" before."""
    import importlib

    from contract_fixtures import PriorStudent
    from kdtext.pipeline import load_config
    from kdtext.pipeline.recipe import run_recipe

    source = _editable_distribution(tmp_path / "plugin", "kdtext-firstwords", "kdtext_firstwords", EDITABLE_AUGMENTER)
    monkeypatch.syspath_prepend(str(tmp_path / "plugin" / "site"))
    monkeypatch.syspath_prepend(str(tmp_path / "plugin" / "src"))

    class Students:
        @__import__("kdtext").hookimpl
        def register_students(self, register):
            register("prior", PriorStudent)

    register_plugin(importlib.import_module("kdtext_firstwords"), "firstwords", distribution=("kdtext-firstwords", "0.1"))
    register_plugin(Students(), "students")
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(command_task['labeller']))}"
    config = load_config(None, {**{k: str(command_task[k]) for k in ("train", "dev", "test")}, "augmenters": ["first-words"],
                                "n_synthetic": 20, "teacher_vectors": 0, "teacher": "command", "teacher_params": {"cmd": cmd},
                                "student": "prior"})  # fmt: skip
    run_dir = tmp_path / "run"
    report = run_recipe(config, run_dir, quiet=True)
    hashed = report["fingerprint"]["code"]["kdtext-firstwords"]
    assert hashed["version"] == "0.1" and hashed["install"] == "editable" and hashed["files"] == 1 and len(hashed["source"]) == 64
    assert run_recipe(config, run_dir, quiet=True)["resumed"] == list(report["stages"])  # nothing changed

    source.write_text(EDITABLE_AUGMENTER.replace("[:3]", "[:4]"), encoding="utf-8")  # the version stays 0.1
    report = run_recipe(config, run_dir, quiet=True)
    assert report["resumed"] == ["data", "teacher", "corpus", "vectors", "baseline", "reference"]
    assert report["fingerprint"]["code"]["kdtext-firstwords"]["source"] != hashed["source"]


def test_kdtext_itself_is_hashed_when_it_is_an_editable_install(tmp_path, monkeypatch):
    import importlib.metadata

    from kdtext import plugins
    from kdtext.pipeline import fingerprint

    kind, _ = plugins.install_origin(importlib.metadata.distribution("kdtext"))
    own = fingerprint.code_identity([]).get("kdtext")
    if kind is None:
        assert own is None  # an ordinary install: its version is not in the fingerprints, as before
        pytest.skip("kdtext is not installed editable or from a local path here")
    assert own["install"] == kind and own["files"] == len(plugins.source_files("kdtext", fingerprint.SOURCE_SUFFIXES)) > 50
    # what a developer's edit does: the same files with one changed give another hash
    copy = tmp_path / "kdtext"
    for path in plugins.source_files("kdtext", fingerprint.SOURCE_SUFFIXES):
        target = copy / Path(path).relative_to(Path(plugins.source_files("kdtext")[0]).parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(path).read_bytes())
    monkeypatch.setattr(plugins, "source_files", lambda module, suffixes=(".py",): sorted(str(p) for p in copy.rglob("*") if p.suffix in suffixes))
    assert fingerprint.source_identity("kdtext", "kdtext") == {k: v for k, v in own.items() if k != "version"}  # elsewhere, same hash
    (copy / "io.py").write_text((copy / "io.py").read_text() + "\n# an edit\n")
    assert fingerprint.source_identity("kdtext", "kdtext")["source"] != own["source"]


# -- the fingerprint format: run folders of kdtext 0.1.0 keep resuming ---------------------

#: The fingerprints kdtext 0.1.0 (fingerprint version 1) gave the stages of GOLDEN_CONFIG on
#: write_task(n_train=30, n_dev=12, n_test=12): computed with main at c7252a9's runner.
GOLDEN_CONFIG = {
    "train": "train.jsonl", "dev": "dev.jsonl", "test": "test.jsonl", "augmenters": ["mask"], "n_synthetic": 60,
    "teacher_vectors": 0, "teacher": "command", "teacher_params": {"cmd": "python3 labeller.py"}, "student": "spacy-bow",
    "student_params": {"max_epochs": 2, "progress": False},
}  # fmt: skip
GOLDEN_V1 = {
    "data": "f265ff0c1e46338c", "teacher": "b96553f049dae535", "corpus": "fa8ae861b8da6084", "augment": "2322839f572ce531",
    "label": "c0461e017885e606", "vectors": "747c1d8ee455f848", "baseline": "4a58df72097ccbc7", "distilled": "b4520d75cf5d1718",
    "reference": "b94426ffb1f6fa0d", "evaluate": "02c58878dfaac66e", "report": "2ce346b95e734d1c",
}  # fmt: skip
#: The same with the settings whose fingerprints version 1 special-cased set the other way.
GOLDEN_V1_SPECIAL = {
    "overrides": {"vectors_from": "embeddings", "backend": "torch", "augment_unlabeled": False, "teacher_vectors": 8},
    "corpus": "aa8b1df5d2835284", "augment": "f8ed3edb047f7234", "label": "c5dc7acaba83d0c4", "vectors": "90e05bfea27c4fde",
    "distilled": "9c33f770a428aa65", "evaluate": "2d646a8ff9d751dc", "report": "5e5e4ddd56d236d9",
}  # fmt: skip


def _as_version_1(run_dir: Path, prints: dict[str, str]) -> None:
    """Rewrite a run's manifest as kdtext 0.1.0 wrote it: version-1 fingerprints, no version, no code."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    del manifest["fingerprint_version"]
    for name, entry in manifest["stages"].items():
        entry["fingerprint"] = prints[name]
        entry.pop("code")
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def test_a_run_folder_of_fingerprint_version_1_resumes_without_rerunning_anything(command_task, tmp_path, monkeypatch):
    from kdtext.pipeline import load_config
    from kdtext.pipeline.fingerprint import FINGERPRINT_VERSION
    from kdtext.pipeline.recipe import STAGES, run_recipe
    from kdtext.pipeline.runner import Runner

    monkeypatch.chdir(command_task["train"].parent)  # GOLDEN_CONFIG's paths and command are relative
    config = load_config(None, GOLDEN_CONFIG)
    run_recipe(config, Path("run"), quiet=True)
    _as_version_1(Path("run"), GOLDEN_V1)
    report = run_recipe(config, Path("run"), quiet=True)
    assert report["resumed"] == [stage.name for stage in STAGES]  # every stage kept
    manifest = json.loads(Path("run/manifest.json").read_text())
    assert manifest["fingerprint_version"] == FINGERPRINT_VERSION and all("code" in e for e in manifest["stages"].values())
    assert run_recipe(config, Path("run"), quiet=True)["resumed"] == [stage.name for stage in STAGES]

    # the settings version 1 special-cased: recognised too (no run needed to check the fingerprints)
    special = load_config(None, {**GOLDEN_CONFIG, **GOLDEN_V1_SPECIAL["overrides"]})
    _as_version_1(Path("run"), {**GOLDEN_V1, **{k: v for k, v in GOLDEN_V1_SPECIAL.items() if k != "overrides"}})
    runner = Runner(special, Path("run"), STAGES, quiet=True)
    runner._load_manifest()
    runner._plan()
    assert all("code" in entry for entry in runner.manifest["stages"].values())  # all 11 adopted
    # a version-1 fingerprint of other settings is not adopted: that stage reruns
    _as_version_1(Path("run"), {**GOLDEN_V1, "label": "0" * 16})
    runner = Runner(config, Path("run"), STAGES, quiet=True)
    runner._load_manifest()
    runner._plan()
    assert [name for name, entry in runner.manifest["stages"].items() if "code" not in entry] == ["label"]


# -- items 4 and 8: the command teacher's program ------------------------------------------

LEAVES_A_CHILD = textwrap.dedent(
    """
    import json, subprocess, sys
    # a common shell-script pattern: start something in the background that inherits stdout
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    open("child.pid", "w").write(str(child.pid))
    for line in sys.stdin:
        print(json.dumps({"probs": {"neg": 0.4, "pos": 0.6}}))
    print("loaded the model in 0.1 s", file=sys.stderr)
    """
)


def _alive(pid: int, within: float = 2.0) -> bool:
    """Whether ``pid`` still runs ``within`` seconds from now (a SIGKILL takes a moment; a zombie is not alive)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(")")[-1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


def test_a_program_that_leaves_a_child_holding_its_stdout_is_done_when_it_exits(tmp_path, monkeypatch):
    """Before: a false "did not finish a batch of 8 texts in 5 s" after the program had
    finished, the full timeout waited out, and the child left running."""
    from kdtext.default_plugins.command import CommandTeacher
    from teacher_fixtures import sentiment_data

    (tmp_path / "labeller.py").write_text(LEAVES_A_CHILD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    teacher = CommandTeacher(cmd=f"{shlex.quote(sys.executable)} labeller.py", timeout=20, batch_size=8)
    data = sentiment_data(12, seed=1)
    started = time.monotonic()
    try:
        teacher.fit(data)  # the probe: 8 texts
        child = int((tmp_path / "child.pid").read_text())
        assert not _alive(child)  # the group was ended with the batch
        result = teacher.label(data.texts, cache_dir=tmp_path / "cache")
    finally:
        if (tmp_path / "child.pid").exists() and _alive(int((tmp_path / "child.pid").read_text()), within=0):
            os.kill(int((tmp_path / "child.pid").read_text()), signal.SIGKILL)
    assert time.monotonic() - started < 15  # not one timeout (20 s) waited out
    assert result.probs.shape == (12, 2) and float(result.probs[0, 1]) == pytest.approx(0.6)
    (log,) = (tmp_path / "cache").rglob("stderr.log")
    assert log.read_text().count("loaded the model in 0.1 s") == 3  # the probe (not saved), then two batches
    assert "examples 8-11, exit code 0" in log.read_text()


def test_the_stderr_of_a_successful_command_teacher_is_kept_in_the_run_folder(command_task, tmp_path):
    """It was discarded before (only a failing program's stderr was shown)."""
    talker = command_task["labeller"].with_name("talker.py")
    talker.write_text(LABELLER.replace("for line in sys.stdin:", "print('model server: warm', file=sys.stderr)\nfor line in sys.stdin:"))
    command_task = {**command_task, "labeller": talker}
    result = CliRunner().invoke(cli, command_run_args(command_task, tmp_path / "run"))
    assert result.exit_code == 0, result.output
    logs = {str(p.relative_to(tmp_path / "run")): p.read_text() for p in (tmp_path / "run").rglob("stderr.log")}
    assert set(map(lambda name: name.split("/")[0], logs)) == {"teacher", "cache"}, logs
    assert all("model server: warm" in text for text in logs.values())


# -- item 7: the augmenter contract's "at most n" ------------------------------------------


class Twice(__import__("kdtext").Augmenter):
    """Every text twice, whatever n is: against the contract."""

    name = "twice"
    defaults: dict = {}

    def augment(self, corpus, n, *, seed=0):
        from kdtext.augment import SyntheticSet

        examples = [list(corpus.doc_word_ids(i % corpus.n_docs)) for i in range(2 * (n or corpus.n_docs))]
        return SyntheticSet.from_word_ids(corpus, examples, sources=[i % corpus.n_docs for i in range(len(examples))], augmenter=self.name)


def test_an_augmenter_returning_more_than_n_is_stopped_with_one_line_naming_it(register_plugin, tmp_path):
    """`kdtext augment --n 50` wrote 100 examples before."""
    import kdtext

    class Plugin:
        @kdtext.hookimpl
        def register_augmenters(self, register):
            register("twice", Twice)

    register_plugin(Plugin(), "twice-plugin", distribution=("kdtext-twice", "0.2"))
    files = write_task(tmp_path / "task", n_train=60)
    out = tmp_path / "synthetic.jsonl"
    result = CliRunner().invoke(cli, ["augment", str(files["train"]), "-o", str(out), "--augmenter", "twice", "--n", "50"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().count("\n") == 0
    assert ("augmenter 'twice' (from distribution kdtext-twice 0.2) returned 100 examples when asked for at most n=50, "
            "against the augmenter contract") in result.output  # fmt: skip
    assert not out.exists()


# -- item 6: kinder data checks ------------------------------------------------------------


def _jsonl(path: Path, rows: list[tuple[str, object]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows), encoding="utf-8")
    return path


def test_rare_and_missing_classes_and_mixed_label_types_are_warned_about_by_train_student(tmp_path):
    """A class with one training example trained without a word (0.42 macro-F1 where accuracy was
    0.63), and integer labels in train merged silently with string labels in dev."""
    train = _jsonl(tmp_path / "train.jsonl", [(f"good film {i}", 1) for i in range(8)] + [(f"bad film {i}", 0) for i in range(8)]
                   + [("an odd one", 2)])  # fmt: skip
    dev = _jsonl(tmp_path / "dev.jsonl", [("good film", "1"), ("bad film", "0")])
    result = CliRunner().invoke(cli, ["train-student", "--train", str(train), "--dev", str(dev), "--student",
                                                      "spacy-bow", "--param", "max_epochs=1", "--param", "progress=false", "-o", str(tmp_path / "s")])  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("kdtext: warning:")]
    assert len(warnings) == 3, result.stderr
    assert f"{train}: class(es) with fewer than 5 training examples: '2' (1)" in warnings[0]
    assert f"{dev}: no dev example of class(es) '2'" in warnings[1]
    assert f"labels are written as JSON numbers in one file and as strings in another ({train}: numbers; {dev}: strings)" in warnings[2]


def test_the_data_stage_warns_and_records_it(command_task, tmp_path):
    from kdtext.data import read_labelled
    from kdtext.pipeline import load_config
    from kdtext.pipeline.recipe import STAGES
    from kdtext.pipeline.runner import Runner

    train = read_labelled(command_task["train"])
    rows = [(text, label) for text, label in zip(train.texts, train.gold_labels())] + [("a lone neutral text", "neutral")]
    _jsonl(command_task["train"], rows)
    config = load_config(None, {name: str(command_task[name]) for name in ("train", "dev", "test")})
    runner = Runner(config, tmp_path / "run", STAGES[:1])
    runner.run()
    warnings = runner.manifest["stages"]["data"]["summary"]["warnings"]
    assert [w.split(": ")[1] for w in warnings] == ["class(es) with fewer than 5 training examples", "no dev example of class(es) 'neutral'",
                                                    "no test example of class(es) 'neutral'"]  # fmt: skip


@pytest.mark.parametrize("delimiter, said", [(";", "';'"), ("\t", "tab")])
def test_a_csv_with_another_delimiter_is_read_and_the_delimiter_said(tmp_path, capsys, delimiter, said):
    """A ;-delimited CSV got "missing 'text' field" with no word of the delimiter."""
    from kdtext.data import read_labelled

    path = tmp_path / "train.csv"
    path.write_text(f"text{delimiter}label\ngood, really{delimiter}pos\nbad{delimiter}neg\n", encoding="utf-8")
    dataset = read_labelled(path)
    assert dataset.texts == ["good, really", "bad"] and dataset.gold_labels() == ["pos", "neg"]
    assert f"kdtext: note: {path}: the header has no comma but a {said}: reading the file as {said}-separated" in capsys.readouterr().err
