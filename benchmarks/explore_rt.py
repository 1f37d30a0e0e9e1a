"""What moves the needle: student variants distilled from one run's teacher labels, scored on dev.

    python benchmarks/explore_rt.py runs/bench-minilm [--only NAME ...]

Reuses the run's finetuned teacher labels (synthetic set + unlabelled pool) and its
teacher word vectors (for spacy-cnn variants, unless the variant says otherwise) and trains one student per variant with seed 0. Selection is on dev accuracy only; test is not
looked at. Each variant's figures are appended to RUN/explore.jsonl as soon as it
finishes, so an interrupted exploration keeps what it measured (finished variants are
skipped on a rerun).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

#: name -> (student, student params, transfer: "aug" | "aug+pool" | "pool", synthetic examples or None for all)
VARIANTS = {
    "default: mse, aug+pool": ("spacy-cnn", {}, "aug+pool", None),
    "width 128, embed 10000": ("spacy-cnn", {"width": 128, "embed_size": 10000}, "aug+pool", None),
    "more context: window 2, depth 3": ("spacy-cnn", {"window_size": 2, "depth": 3}, "aug+pool", None),
    "kl loss, T=2": ("spacy-cnn", {"loss": "kl", "temperature": 2.0}, "aug+pool", None),
    "word vectors from the embedding table": ("spacy-cnn", {"vectors_from": "embeddings"}, "aug+pool", None),
    "no word vectors": ("spacy-cnn", {"vectors_from": None}, "aug+pool", None),
    "random output init (BOW half learns)": ("spacy-cnn", {"random_output_init": True}, "aug+pool", None),
    "bow bigrams (ngram_size 2)": ("spacy-cnn", {"ngram_size": 2}, "aug+pool", None),
    "gold examples x5": ("spacy-cnn", {"gold_repeats": 5}, "aug+pool", None),
    "spacy-bow student, bigrams": ("spacy-bow", {"ngram_size": 2}, "aug+pool", None),
    "augmentation only": ("spacy-cnn", {}, "aug", None),
    "pool only": ("spacy-cnn", {}, "pool", None),
    "10k synthetic + pool": ("spacy-cnn", {}, "aug+pool", 10000),
    "30k synthetic + pool": ("spacy-cnn", {}, "aug+pool", 30000),
    "baseline (gold only)": ("spacy-cnn", {}, None, None),
}


def embedding_vectors(run_dir: Path, config: dict) -> Path:
    """The run's word list with vectors from the teacher's input embedding table (made once)."""
    from kdtext import plugins
    from kdtext.students.vectors import load_vectors, save_vectors, word_vectors

    path = run_dir / "explore-embedding-vectors.npz"
    if not path.exists():
        words, run_vectors = load_vectors(run_dir / "vectors" / "vectors.npz")
        teacher = plugins.get_teacher(config["teacher"]).load(run_dir / "teacher" / "model")
        kept, vectors = word_vectors(teacher, words, dims=run_vectors.shape[1], source="embeddings")
        save_vectors(path, kept, vectors)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--only", nargs="*", help="Variant names to run (default: all).")
    args = parser.parse_args()

    from kdtext.pipeline.artifacts import concat, load_transfer, split_of
    from kdtext.students import build_student

    out = args.run_dir / "explore.jsonl"
    done = set()
    if out.exists():
        done = {json.loads(line)["variant"] for line in out.read_text().splitlines() if line.strip()}
    config = json.loads((args.run_dir / "config.json").read_text())
    train, dev = split_of(args.run_dir, "train"), split_of(args.run_dir, "dev")
    synthetic, pool = load_transfer(args.run_dir, config["lang"])
    for name, (student_name, params, transfer_kind, n_synth) in VARIANTS.items():
        if (args.only and name not in args.only) or name in done:
            continue
        aug = synthetic if n_synth is None else synthetic.subset(np.arange(min(n_synth, len(synthetic))))
        transfer = {"aug": aug, "pool": pool, "aug+pool": concat(aug, pool), None: None}[transfer_kind] if transfer_kind else None
        t0 = time.perf_counter()
        vectors = args.run_dir / "vectors" / "vectors.npz"
        params = dict(params)
        source = params.pop("vectors_from", "run")
        if source == "embeddings":
            vectors = embedding_vectors(args.run_dir, config)
        if vectors.exists() and student_name == "spacy-cnn" and source is not None:
            params = {"vectors": str(vectors), **params}
        student = build_student(student_name, lang=config["lang"], progress=False, **params)
        figures = student.fit(train, dev, transfer, seed=0)
        row = {
            "variant": name,
            "student": student_name,
            "params": {k: v for k, v in params.items() if k != "vectors"},
            "teacher_vectors": "vectors" in params,
            "transfer": transfer_kind,
            "n_transfer": 0 if transfer is None else len(transfer),
            "dev_accuracy": figures["best_dev_score"],
            "steps": figures["steps"],
            "train_seconds": round(time.perf_counter() - t0, 1),
        }
        print(json.dumps(row), flush=True)
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    print("\n| variant | teacher vectors | transfer examples | dev accuracy | train time |", file=sys.stderr)
    print("|---|---|---|---|---|", file=sys.stderr)
    for row in sorted(rows, key=lambda r: -r["dev_accuracy"]):
        print(
            f"| {row['variant']} | {'yes' if row.get('teacher_vectors') else 'no'} | {row['n_transfer']:,} "
            f"| {row['dev_accuracy']:.4f} | {row['train_seconds']:.0f}s |",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
