"""Student variants distilled from one run's teacher labels: dev accuracy, training time, speed.

    python benchmarks/students_rt.py RUN [--only NAME ...] [--seeds 0 1 2] [--profile NAME] [--speed NAME ...]

RUN is a ``kdtext run`` folder (its data, augment, label and vectors stages are reused).
Each variant trains one student per seed on gold + the run's teacher-labelled synthetic
examples and unlabelled pool, and is scored on dev (selection) and test (reported only).
Speed is ``predict_proba`` docs/s on one thread over 10,000 real texts, beside the bare
spaCy tokenizer on the same texts in the same process (the issue's yardstick: a student
at >= 25% of the tokenizer's docs/s). Rows are appended to RUN/students.jsonl as each
variant finishes; finished (variant, seed) pairs are skipped on a rerun.
``--vectors-dims N`` variants read ``RUN/vectors/vectorsN.npz`` when it exists.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

#: name -> (student, params, teacher-vector dimensions or None for no vectors)
#: The schedule the variants train with unless they say otherwise (spacy-cnn's own: batch 32, lr 0.001, eval every 500).
QUICK = {"batch_size": 128, "learn_rate": 0.002, "eval_every": 200, "patience": 5}

VARIANTS: dict[str, tuple[str, dict, int | None]] = {
    "fast: NORM+SUFFIX, depth 1, reduce": ("spacy-fast", QUICK, 64),
    "fast, attention head": ("spacy-fast", {**QUICK, "pooling": "attention"}, 64),
    "fast, logit loss": ("spacy-fast", {**QUICK, "loss": "logits"}, 64),
    "fast, 256-d vectors": ("spacy-fast", QUICK, 256),
    "fast, ensemble head (+ bag of words)": ("spacy-fast", {**QUICK, "pooling": "ensemble"}, 64),
    "lite: width 32, NORM only, 2 maxout pieces": ("spacy-fast", {**QUICK, "width": 32, "attrs": "NORM", "maxout_pieces": 2}, 64),
    "lite + bag of words": ("spacy-fast", {**QUICK, "width": 32, "attrs": "NORM", "maxout_pieces": 2, "pooling": "ensemble"}, 64),
    "spacy-bow, unigrams": ("spacy-bow", QUICK, None),
    "spacy-bow, 1-2 grams": ("spacy-bow", {**QUICK, "ngram_size": 2}, None),
    "spacy-cnn (reference student, its defaults)": ("spacy-cnn", {}, 64),
    "spacy-fast defaults": ("spacy-fast", {}, 64),
    "lite + bag of words 1-2 grams": ("spacy-fast", {**QUICK, "width": 32, "attrs": "NORM", "maxout_pieces": 2, "pooling": "ensemble", "ngram_size": 2}, 64),
    "spacy-cnn, quick schedule": ("spacy-cnn", QUICK, 64),
    "mid: width 48, NORM+SUFFIX, 2 pieces, + bag of words": ("spacy-fast", {**QUICK, "width": 48, "maxout_pieces": 2, "pooling": "ensemble"}, 64),
    "mid: width 64, NORM, 2 pieces, + bag of words": ("spacy-fast", {**QUICK, "attrs": "NORM", "maxout_pieces": 2, "pooling": "ensemble"}, 64),
    "mid48, patience 10": ("spacy-fast", {**QUICK, "width": 48, "maxout_pieces": 2, "pooling": "ensemble", "patience": 10}, 64),
    "mid48, batch 64, lr 0.001, patience 10": ("spacy-fast", {**QUICK, "width": 48, "maxout_pieces": 2, "pooling": "ensemble", "patience": 10, "batch_size": 64, "learn_rate": 0.001}, 64),
}


def vectors_path(run_dir: Path, dims: int | None) -> Path | None:
    if dims is None:
        return None
    for path in (run_dir / "vectors" / f"vectors{dims}.npz", run_dir / "vectors" / "vectors.npz"):
        if path.exists():
            return path
    return None


def speed(student, texts: list[str]) -> tuple[float, float]:
    """(student docs/s, bare tokenizer docs/s), one thread, same texts; best of two."""
    nlp = student.nlp
    best_tok = best_model = 0.0
    for _ in range(2):
        t = time.perf_counter()
        for _doc in nlp.tokenizer.pipe(texts, batch_size=1000):
            pass
        best_tok = max(best_tok, len(texts) / (time.perf_counter() - t))
        t = time.perf_counter()
        student.predict_proba(texts)
        best_model = max(best_model, len(texts) / (time.perf_counter() - t))
    return best_model, best_tok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--only", nargs="*", help="Variant names to run (default: all).")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--profile", help="Profile nlp.pipe of this variant (trained briefly) and exit.")
    parser.add_argument(
        "--speed", nargs="+", metavar="VARIANT",
        help="Only time these variants (trained for 5 steps: speed does not depend on training) against the "
        "tokenizer, in turns, best of three; for a quiet machine.",
    )  # fmt: skip
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    import numpy as np

    from kdtext.base import directory_size
    from kdtext.data import read_texts
    from kdtext.metrics import dev_score
    from kdtext.pipeline.recipe import concat, load_transfer, split_of
    from kdtext.student import build_student

    config = json.loads((args.run_dir / "config.json").read_text())
    train, dev, test = (split_of(args.run_dir, name) for name in ("train", "dev", "test"))
    pool_texts = read_texts(args.run_dir / "data" / "unlabeled.jsonl")
    speed_texts = (pool_texts * (1 + 10000 // max(1, len(pool_texts))))[:10000]
    if args.profile:
        import cProfile
        import pstats

        student_name, params, dims = VARIANTS[args.profile]
        path = vectors_path(args.run_dir, dims)
        student = build_student(student_name, lang=config["lang"], progress=False, max_steps=20,
                                **({"vectors": str(path)} if path else {}), **params)
        student.fit(train, dev, seed=0)
        print("docs/s, tokenizer docs/s:", speed(student, speed_texts))
        cProfile.runctx("student.predict_proba(speed_texts)", globals(), locals(), "/tmp/students_rt.prof")
        pstats.Stats("/tmp/students_rt.prof").sort_stats("tottime").print_stats(20)
        return
    if args.speed:
        students = {}
        for name in args.speed:
            student_name, params, dims = VARIANTS[name]
            path = vectors_path(args.run_dir, dims)
            students[name] = build_student(student_name, lang=config["lang"], progress=False,
                                           **{**params, **({"vectors": str(path)} if path else {}), "max_steps": 5})  # fmt: skip
            students[name].fit(train, dev, seed=0)
        tokenizer = next(iter(students.values())).nlp.tokenizer
        best = dict.fromkeys(["bare spaCy tokenizer", *students], 0.0)
        for _ in range(3):
            for name in best:
                started = time.perf_counter()
                if name in students:
                    students[name].predict_proba(speed_texts)
                else:
                    for _doc in tokenizer.pipe(speed_texts, batch_size=1000):
                        pass
                best[name] = max(best[name], len(speed_texts) / (time.perf_counter() - started))
        for name, docs in best.items():
            print(f"| {name} | {docs:,.0f} | {100 * docs / best['bare spaCy tokenizer']:.0f}% |")
        return
    transfer = concat(*load_transfer(args.run_dir, config["lang"]))
    out = args.run_dir / "students.jsonl"
    done = set()
    if out.exists():
        done = {(r["variant"], r["seed"]) for r in map(json.loads, out.read_text().splitlines()) if r}
    for name, (student_name, params, dims) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        for seed in args.seeds:
            if (name, seed) in done:
                continue
            path = vectors_path(args.run_dir, dims)
            full = {**({"vectors": str(path)} if path else {}), **params}
            student = build_student(student_name, lang=config["lang"], progress=False, **full)
            started = time.perf_counter()
            figures = student.fit(train, dev, transfer, seed=seed)
            seconds = time.perf_counter() - started
            figures = figures.as_dict() if hasattr(figures, "as_dict") else figures
            test_probs = student.predict_proba(test.texts)
            docs, tok = speed(student, speed_texts)
            with tempfile.TemporaryDirectory() as tmp:
                student.save(tmp)
                size = directory_size(tmp)
            row = {
                "variant": name, "student": student_name, "params": params, "vector_dims": dims if path else 0, "seed": seed,
                "dev_accuracy": figures["best_dev_score"], "test_accuracy": dev_score(test.targets, test_probs, False),
                "train_seconds": round(seconds, 1), "steps": figures["steps"], "best_step": figures["best_step"],
                "docs_per_second": round(docs), "tokenizer_docs_per_second": round(tok),
                "share_of_tokenizer": round(docs / tok, 3), "size_bytes": size,
            }  # fmt: skip
            print(json.dumps(row), flush=True)
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    print("\n| variant | seeds | dev acc | test acc | train s | docs/s (1 thread) | % of tokenizer | size |", file=sys.stderr)
    print("|---|---|---|---|---|---|---|---|", file=sys.stderr)
    by_variant: dict[str, list[dict]] = {}
    for row in rows:
        by_variant.setdefault(row["variant"], []).append(row)
    for name, group in sorted(by_variant.items(), key=lambda kv: -np.mean([r["dev_accuracy"] for r in kv[1]])):
        mean = lambda key: float(np.mean([r[key] for r in group]))  # noqa: E731
        print(
            f"| {name} | {len(group)} | {mean('dev_accuracy'):.4f} | {mean('test_accuracy'):.4f} | {mean('train_seconds'):.0f} "
            f"| {mean('docs_per_second'):,.0f} | {100 * mean('share_of_tokenizer'):.0f}% | {mean('size_bytes') / 1e6:.1f} MB |",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
