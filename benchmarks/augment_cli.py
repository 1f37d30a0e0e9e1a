"""`kdtext augment --n 200000` end to end, compiled kernels against their pure-Python twin,
and the JSONL writer alone, on one core.

Data: the demo's 1,000 training texts (Rotten Tomatoes snippets, ``kdtext.datasets``),
or ``--input FILE``. Timed:

* the writer: the examples of one ``tang`` set as JSONL bytes, with the bulk encoder that
  ``kdtext augment`` uses (``kdtext.augment.jsonl``) and with ``json.dumps`` per row
  (what it used before), in rows/s; the two outputs are compared byte for byte;
* the command: ``kdtext augment INPUT -o OUT --n N`` as a subprocess (start-up, reading,
  tokenizing and tagging, augmenting, writing), with the compiled kernels and with
  ``KDTEXT_NO_EXTENSIONS=1``; ``cold`` tokenizes and tags the texts, ``warm`` loads them
  from a ``--cache`` folder filled by an earlier run. Best of ``--repeats``, in CPU time
  (user + system) of the subprocess, which a machine shared with other jobs disturbs far
  less than wall time; wall time is printed beside it.

Run: ``python benchmarks/augment_cli.py`` (pins itself and its subprocesses to one core).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_core() -> list[str]:
    """Pin this process to one core; the prefix that pins a subprocess to the same core."""
    if not hasattr(os, "sched_setaffinity"):
        return []
    core = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {core})
    return ["taskset", "-c", str(core)] if subprocess.run(["which", "taskset"], capture_output=True).returncode == 0 else []


def demo_input(folder: Path) -> Path:
    from kdtext.datasets import rotten_tomatoes_splits

    train = rotten_tomatoes_splits(seed=0)[0]
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in train.texts), encoding="utf-8")
    return path


def best_of(repeats: int, fn):  # type: ignore[no-untyped-def]
    """Least CPU seconds of this process over ``repeats`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def writer(input_path: Path, n: int, repeats: int) -> None:
    from kdtext.augment import augment_corpus, read_source_texts
    from kdtext.augment.builder import corpus_from_texts
    from kdtext.augment.rounds import rounds_for
    from kdtext.augment.jsonl import SyntheticRowEncoder

    texts, _ = read_source_texts(input_path)
    corpus = corpus_from_texts(texts, lang="en", tagger="auto")
    synthetic = augment_corpus(corpus, "tang", n=n, seed=0, n_iter=rounds_for(n, corpus.n_docs, 20))
    rows, tokens = len(synthetic), synthetic.n_tokens

    def bulk() -> bytes:
        return b"".join(data for _, data in SyntheticRowEncoder(synthetic).blocks())

    def per_row() -> bytes:
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in synthetic.rows()).encode("utf-8")

    fast, slow = best_of(repeats, bulk), best_of(max(1, repeats // 2), per_row)
    same = bulk() == per_row()
    print(f"writer: {rows:,} tang examples ({tokens / rows:.1f} tokens each, tagger {corpus.tagger})")
    print(f"  bulk encoder (kdtext augment): {rows / fast:>12,.0f} rows/s of CPU time ({fast:.3f} s)")
    print(f"  json.dumps per row (before):   {rows / slow:>12,.0f} rows/s of CPU time ({slow:.3f} s)")
    print(f"  identical bytes: {same}")


def command(input_path: Path, n: int, repeats: int, pin: list[str], folder: Path) -> None:
    cache = folder / "cache"
    results: dict[tuple[str, str], float] = {}
    for impl, env_extra in (("compiled", {}), ("python twin", {"KDTEXT_NO_EXTENSIONS": "1"})):
        env = {key: value for key, value in os.environ.items() if key != "KDTEXT_NO_EXTENSIONS"}
        env.update(env_extra)
        for mode in ("cold", "warm"):
            args = [*pin, "kdtext", "augment", str(input_path), "-o", str(folder / "out.jsonl"), "--n", str(n), "--quiet"]
            if mode == "warm":
                args += ["--cache", str(cache)]
                subprocess.run(args, env=env, check=True, capture_output=True)  # fill the cache
            best, best_cpu = float("inf"), float("inf")
            for _ in range(repeats):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                done = subprocess.run(args, env=env, capture_output=True, text=True)
                best = min(best, time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                if done.returncode:
                    sys.exit(done.stderr)
            results[(impl, mode)] = best_cpu
            rows = sum(1 for _ in open(folder / "out.jsonl", "rb"))
            print(f"  {impl:<12} {mode}: {best_cpu:6.2f} s CPU, {best:6.2f} s wall  ({rows:,} examples written)")
    for mode in ("cold", "warm"):
        print(f"  compiled vs twin, {mode}: {results[('python twin', mode)] / results[('compiled', mode)]:.1f}x in CPU time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, help="JSONL or CSV of texts [default: the demo's 1,000 training texts]")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin = one_core()
    from kdtext import _fast

    if _fast.IMPLEMENTATION != "cython":
        sys.exit("run without KDTEXT_NO_EXTENSIONS: the benchmark runs both implementations itself")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        input_path = args.input or demo_input(folder)
        writer(input_path, args.n, args.repeats)
        print(f"kdtext augment {input_path.name} --n {args.n:,} (one core{', taskset' if pin else ''}):")
        command(input_path, args.n, args.repeats, pin, folder)


if __name__ == "__main__":
    main()
