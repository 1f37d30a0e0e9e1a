"""kdtext's students against the fast classifiers a user would pick instead, on one run's data.

    python benchmarks/peers.py RUN [--skip model2vec fasttext] [--teacher-base PATH]

RUN is a finished ``kdtext run`` folder. Every peer is trained twice, on the run's gold
train split and on its transfer set (gold + the teacher-labelled synthetic examples and
unlabelled pool), and scored on the run's test split beside kdtext's own baseline and
distilled students, in this one process, on one thread:

* TF-IDF 1-2 grams + logistic regression (scikit-learn); soft labels as one row per class
  weighted by the teacher's probability (soft cross-entropy); ``C`` chosen on dev;
* model2vec: static embeddings distilled from the teacher's *base* model (before
  finetuning, as a model2vec user would), its ``StaticModelForClassification`` head;
  its ``fit`` takes hard labels, so the transfer set gives it the teacher's argmax;
* fastText supervised (word 1-2 grams, 100,000 hash buckets), teacher argmax; fasttext-numpy2 raises
  "Encountered NaN" at random and succeeds on retry, so each fit is tried up to 5 times.

docs/s is ``predict`` on 10,000 texts (the test split repeated), best of two.
Peers are benchmark extras, not kdtext dependencies; model2vec's ``distill`` extra pins
transformers < 5.4 (which breaks on the `kernels` release a newer transformers pulls in: hence
``kernels<0.11``), so install them in a virtual environment that sees kdtext:

    python -m venv --system-site-packages .venv-peers
    .venv-peers/bin/pip install "model2vec[distill,train]==0.10.0" scikit-learn "fasttext-numpy2==0.10.4" "kernels<0.11"
    .venv-peers/bin/pip install --no-deps --no-build-isolation -e .     # if it does not see kdtext (an editable install elsewhere)
    .venv-peers/bin/python benchmarks/peers.py runs/demo

Results go to RUN/peers.json and a table on stdout.

With ``--bench`` the transfer set is the one ``benchmarks/student_bench.py build RUN`` labelled
(the first ``--n-synthetic`` synthetic examples + the pool, as the bench's variants train on),
and kdtext's students are the ones given with ``--students`` (folders that ``student_bench.py
train --save`` wrote), in place of the run's baseline and distilled stages:

    .venv-peers/bin/python benchmarks/peers.py runs/bench-mpnet --bench --n-synthetic 60000 \
        --students runs/bench-mpnet/bench/models/spacy-fast-seed0 --teacher-base assets/all-mpnet-base-v2
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


def timed_docs_per_second(predict: Callable[[list[str]], Any], texts: list[str]) -> float:
    best = 0.0
    for _ in range(2):
        started = time.perf_counter()
        predict(texts)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def folder_size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def tfidf_lr(train_texts, train_targets, dev_texts, dev_labels, weights=None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    best = None
    for C in (1.0, 3.0, 10.0):
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(C=C, max_iter=2000))
        model.fit(train_texts, train_targets, logisticregression__sample_weight=weights)
        score = float(np.mean(model.predict(dev_texts) == dev_labels))
        if best is None or score > best[0]:
            best = (score, model)
    return best[1]


def soft_rows(texts: list[str], probs: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One row per (text, class), weighted by the class's probability: soft cross-entropy for LR."""
    k = probs.shape[1]
    return [t for t in texts for _ in range(k)], np.tile(np.arange(k), len(texts)), probs.reshape(-1)


def fasttext_fit(texts: list[str], labels: np.ndarray, names: list[str]):
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        for text, label in zip(texts, labels):
            handle.write(f"__label__{names[label]} {' '.join(text.split())}\n")
    for attempt in range(5):
        try:
            return fasttext.train_supervised(handle.name, epoch=10, wordNgrams=2, lr=0.5, bucket=100_000, thread=1, verbose=0, seed=attempt)
        except RuntimeError as exc:  # "Encountered NaN" at random
            if "NaN" not in str(exc) or attempt == 4:
                raise
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--skip", nargs="*", default=[], choices=["model2vec", "fasttext", "tfidf"])
    parser.add_argument("--teacher-base", help="Model folder model2vec distils from (default: the run's teacher base model).")
    parser.add_argument("--bench", action="store_true", help="Use the transfer set of the run's student bench (see above).")
    parser.add_argument("--n-synthetic", type=int, default=60000, help="With --bench: synthetic examples in the transfer set.")
    parser.add_argument("--students", nargs="*", default=[], type=Path, help="With --bench: saved kdtext students to compare.")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from kdtext.pipeline.artifacts import concat, load_transfer, split_of
    from kdtext.students import load_student

    run = args.run_dir
    train, dev, test = (split_of(run, name) for name in ("train", "dev", "test"))
    if train.label_space.multilabel:
        sys.exit("peers.py compares single-label classifiers only")
    names = list(train.label_space.labels)
    if args.bench:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from student_bench import Bench

        lang = "en"
        transfer = Bench(run).transfer(args.n_synthetic, pool=True)[0]
        students = [(f"kdtext {load_student(path).name} ({path.name})", "transfer", path) for path in args.students]
    else:
        lang = json.loads((run / "config.json").read_text())["lang"]
        transfer = concat(*load_transfer(run, lang))
        students = [(f"kdtext {stage} ({load_student(run / stage / 'model').name})", "gold" if stage == "baseline" else "transfer",
                     run / stage / "model") for stage in ("baseline", "distilled")]  # fmt: skip
    gold_y, dev_y, test_y = train.targets.argmax(1), dev.targets.argmax(1), test.targets.argmax(1)
    speed_texts = (test.texts * (1 + 10000 // len(test.texts)))[:10000]
    rows: list[dict[str, Any]] = []

    def record(model: str, data: str, predict: Callable[[list[str]], np.ndarray], size: int) -> None:
        predicted = predict(test.texts)
        accuracy = float(np.mean(predicted == test_y))
        f1 = [2 * np.sum((predicted == k) & (test_y == k)) / max(np.sum(predicted == k) + np.sum(test_y == k), 1) for k in range(len(names))]
        rows.append({"model": model, "trained on": data, "test_accuracy": accuracy, "test_macro_f1": float(np.mean(f1)),
                     "docs_per_second": timed_docs_per_second(predict, speed_texts), "size_bytes": size})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)

    import spacy

    tokenizer = spacy.blank(lang).tokenizer
    rows.append({"model": f"spaCy tokenizer alone (spacy.blank({lang!r}), the speed yardstick)", "trained on": "-",
                 "test_accuracy": None, "test_macro_f1": None, "size_bytes": None,
                 "docs_per_second": timed_docs_per_second(lambda texts: list(tokenizer.pipe(texts, batch_size=1000)), speed_texts)})  # fmt: skip
    print(json.dumps(rows[-1]), flush=True)
    for label, data, path in students:
        student = load_student(path)
        record(label, data, lambda texts, s=student: s.predict_proba(texts).argmax(1), folder_size(path))

    transfer_argmax = transfer.targets.argmax(1)
    all_texts = train.texts + transfer.texts
    all_argmax = np.concatenate([gold_y, transfer_argmax])
    if "tfidf" not in args.skip:
        for data in ("gold", "transfer"):
            if data == "gold":
                model = tfidf_lr(train.texts, gold_y, dev.texts, dev_y)
            else:
                texts, targets, weights = soft_rows(all_texts, np.concatenate([train.targets, transfer.targets]))
                model = tfidf_lr(texts, targets, dev.texts, dev_y, weights)
            record("TF-IDF 1-2 grams + LR", data, model.predict, len(pickle.dumps(model)))
    if "fasttext" not in args.skip:
        for data, texts, labels in (("gold", train.texts, gold_y), ("transfer", all_texts, all_argmax)):
            model = fasttext_fit(texts, labels, names)
            index = {f"__label__{n}": i for i, n in enumerate(names)}
            predict = lambda batch, m=model: np.array([index[labels[0]] for labels in m.predict([" ".join(t.split()) for t in batch])[0]])  # noqa: E731
            with tempfile.TemporaryDirectory() as tmp:
                model.save_model(f"{tmp}/model.bin")
                size = folder_size(Path(tmp))
            record("fastText supervised", data, predict, size)
    if "model2vec" not in args.skip:
        from model2vec.distill import distill
        from model2vec.train import StaticModelForClassification

        base = args.teacher_base or json.loads((run / "teacher" / "model" / "kdtext_teacher.json").read_text())["training"]["base_model"]
        static = distill(model_name=base, pca_dims=256)
        for data, texts, labels in (("gold", train.texts, gold_y), ("transfer", all_texts, all_argmax)):
            classifier = StaticModelForClassification.from_static_model(model=static)
            classifier.fit(texts, [names[i] for i in labels], X_val=dev.texts, y_val=[names[i] for i in dev_y], random_seed=0)
            pipeline = classifier.to_pipeline()
            index = {n: i for i, n in enumerate(names)}
            predict = lambda batch, p=pipeline: np.array([index[str(label)] for label in p.predict(batch)])  # noqa: E731
            with tempfile.TemporaryDirectory() as tmp:
                pipeline.save_pretrained(tmp)
                size = folder_size(Path(tmp))
            record("model2vec (256-d, from the teacher's base) + its classifier", data, predict, size)

    (run / ("peers-bench.json" if args.bench else "peers.json")).write_text(json.dumps(rows, indent=2))
    yardstick = rows[0]["docs_per_second"]
    print("\n| model | trained on | test acc | test macro-F1 | docs/s (1 thread) | % of tokenizer | size |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        accuracy = "- | -" if row["test_accuracy"] is None else f"{row['test_accuracy']:.4f} | {row['test_macro_f1']:.4f}"
        size = "-" if row["size_bytes"] is None else f"{row['size_bytes'] / 1e6:.1f} MB"
        share = f"{100 * row['docs_per_second'] / yardstick:.0f}%"
        print(f"| {row['model']} | {row['trained on']} | {accuracy} | {row['docs_per_second']:,.0f} | {share} | {size} |")


if __name__ == "__main__":
    main()
