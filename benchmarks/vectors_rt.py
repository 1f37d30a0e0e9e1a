"""How much of the teacher's task knowledge the student's word vectors carry.

    python benchmarks/vectors_rt.py runs/rt-minilm

For a finished run of a single-label task, the teacher labels every word of the run's
word-vector list read alone, and the script prints, for each of the first principal
dimensions of the run's vectors, its correlation with the teacher's score for the word
(the difference of the first two labels' logits). Encoder vectors
(``--vectors-from encoder``) put the task in their first dimension; embedding-table
vectors do not.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--dims", type=int, default=5, help="Dimensions to report.")
    args = parser.parse_args()

    import torch

    from kdtext import plugins
    from kdtext.students.vectors import load_vectors

    config = json.loads((args.run_dir / "config.json").read_text())
    words, vectors = load_vectors(args.run_dir / "vectors" / "vectors.npz")
    teacher = plugins.get_teacher(config["teacher"]).load(args.run_dir / "teacher" / "model")
    tokenizer, model = teacher.tokenizer, teacher.model
    model.eval()
    started = time.perf_counter()
    scores = np.zeros(len(words))
    with torch.inference_mode():
        for start in range(0, len(words), 512):
            batch = tokenizer(words[start : start + 512], return_tensors="pt", padding=True, truncation=True, max_length=32)
            logits = model(**batch).logits.float().numpy()
            scores[start : start + 512] = logits[:, 0] - logits[:, 1]
    manifest = json.loads((args.run_dir / "manifest.json").read_text())
    source = manifest["stages"]["vectors"]["summary"].get("source", "embeddings")
    print(f"{args.run_dir}: {len(words):,} words, {vectors.shape[1]} dimensions from the teacher's {source}; "
          f"teacher scores in {time.perf_counter() - started:.0f}s")
    for d in range(min(args.dims, vectors.shape[1])):
        print(f"dimension {d + 1}: correlation with the teacher's score {np.corrcoef(vectors[:, d], scores)[0, 1]:+.3f}")


if __name__ == "__main__":
    main()
