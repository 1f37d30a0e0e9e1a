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
from typing import Any, Callable

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


def variant_student(name: str, run_dir: Path, lang: str, **overrides: Any):
    """An untrained student of variant ``name``, with the run's teacher vectors when the variant takes them."""
    from kdtext.students import build_student

    student_name, params, dims = VARIANTS[name]
    path = vectors_path(run_dir, dims)
    return build_student(student_name, lang=lang, progress=False, **{**({"vectors": str(path)} if path else {}), **params, **overrides})


def tokenize_all(tokenizer, texts: list[str]) -> None:
    for _doc in tokenizer.pipe(texts, batch_size=1000):
        pass


def best_rates(calls: dict[str, Callable[[], Any]], n_texts: int, turns: int) -> dict[str, float]:
    """Docs/s of each call over ``n_texts`` texts, the calls in turns, best of ``turns``."""
    best = dict.fromkeys(calls, 0.0)
    for _ in range(turns):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            best[name] = max(best[name], n_texts / (time.perf_counter() - started))
    return best


def speed(student, texts: list[str]) -> tuple[float, float]:
    """(student docs/s, bare tokenizer docs/s), one thread, same texts; best of two."""
    rates = best_rates(
        {"tokenizer": lambda: tokenize_all(student.nlp.tokenizer, texts), "student": lambda: student.predict_proba(texts)},
        len(texts), turns=2,
    )  # fmt: skip
    return rates["student"], rates["tokenizer"]


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
    from kdtext.pipeline.artifacts import concat, load_transfer, split_of
    config = json.loads((args.run_dir / "config.json").read_text())
    train, dev, test = (split_of(args.run_dir, name) for name in ("train", "dev", "test"))
    pool_texts = read_texts(args.run_dir / "data" / "unlabeled.jsonl")
    speed_texts = (pool_texts * (1 + 10000 // max(1, len(pool_texts))))[:10000]
    if args.profile:
        import cProfile
        import pstats

        student = variant_student(args.profile, args.run_dir, config["lang"], max_steps=20)
        student.fit(train, dev, seed=0)
        print("docs/s, tokenizer docs/s:", speed(student, speed_texts))
        cProfile.runctx("student.predict_proba(speed_texts)", globals(), locals(), "/tmp/students_rt.prof")
        pstats.Stats("/tmp/students_rt.prof").sort_stats("tottime").print_stats(20)
        return
    if args.speed:
        students = {name: variant_student(name, args.run_dir, config["lang"], max_steps=5) for name in args.speed}
        for student in students.values():
            student.fit(train, dev, seed=0)
        tokenizer = next(iter(students.values())).nlp.tokenizer
        calls = {"bare spaCy tokenizer": lambda: tokenize_all(tokenizer, speed_texts)}
        calls.update({name: (lambda s=student: s.predict_proba(speed_texts)) for name, student in students.items()})
        best = best_rates(calls, len(speed_texts), turns=3)
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
            student = variant_student(name, args.run_dir, config["lang"])
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
