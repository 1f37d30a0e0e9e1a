"""The student bench: build once per teacher, then try student variants in minutes.

    python benchmarks/student_bench.py build RUN            # label RUN's transfer set, keep the teacher's sentence vectors
    python benchmarks/student_bench.py train RUN --only NAME ... [--seeds 0 1 2] [--n-synthetic N]
    python benchmarks/student_bench.py table RUN             # every variant trained so far, mean ± sd over seeds

RUN is a ``kdtext run`` folder whose data, teacher, corpus and augment stages have
finished (its label stage is not needed). ``build`` labels, with the run's finetuned
teacher, every synthetic example, every unlabelled text and every training text, and keeps
for each (``RUN/bench/``):

* the teacher's probabilities (``probs.npy``, float32, the order of the run's label stage:
  synthetic, then pool; the training texts after them);
* the teacher's sentence representation, the mean of its last hidden states over the
  text's tokens (``reps.npy``, float16, the encoder's width), and its first-token state
  (``cls.npy``), from the same forward pass.

It runs the teacher through ONNX Runtime (the export of the run's labelling backend, with
the two representations as extra outputs), in length-sorted batches, in chunks saved as
they finish: a killed build resumes at the first unfinished chunk. ``train`` trains the
named variants (``VARIANTS``) on gold + transfer with every seed and appends one JSON row
per (variant, seed) to ``RUN/bench/results.jsonl``; finished pairs are skipped.
Dev selects; test is only reported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Examples labelled per saved chunk.
CHUNK = 8192
#: Tokens per padded batch for ONNX Runtime (its fused kernels are flat above a few thousand).
BATCH_TOKENS = 4096


PARTS = ("synthetic", "pool", "train", "dev", "test")


def _texts(run: Path) -> tuple[list[str], dict[str, int]]:
    """Synthetic texts, then the pool, train, dev and test texts; and the size of each part."""
    from kdtext.pipeline.artifacts import synthetic_of
    from kdtext.data import read_texts

    synthetic = synthetic_of(run)
    pool_file = run / "data" / "unlabeled.jsonl"
    parts = {"synthetic": list(synthetic.texts()), "pool": read_texts(pool_file) if pool_file.stat().st_size else []}
    for name in ("train", "dev", "test"):
        parts[name] = read_texts(run / "data" / f"{name}.jsonl")
    return [t for name in PARTS for t in parts[name]], {name: len(parts[name]) for name in PARTS}


def _export(teacher: Any, path: Path) -> None:
    """The teacher as ONNX with three outputs: logits, mean last hidden state, first-token state."""
    import copy
    import warnings

    import torch

    model = copy.deepcopy(teacher.model).to("cpu").float().eval()
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation("eager")
        except Exception:
            pass

    class WithStates(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            hidden = out.hidden_states[-1]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return out.logits, mean, hidden[:, 0]

    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 100, 2, 1, 1]])
    ids[:, 0] = int(teacher.tokenizer.cls_token_id or 0)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    raw = path.with_suffix(".raw.onnx")
    wrapper = WithStates(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, (ids, mask), str(raw),
            input_names=["input_ids", "attention_mask"], output_names=["logits", "mean", "first"],
            dynamic_axes={"input_ids": {0: "b", 1: "n"}, "attention_mask": {0: "b", 1: "n"}, "logits": {0: "b"}, "mean": {0: "b"}, "first": {0: "b"}},
            opset_version=17, dynamo=False,
        )  # fmt: skip
        from onnxruntime.transformers.optimizer import optimize_model

        config = model.config
        optimized = optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
        optimized.save_model_to_file(str(path))
    raw.unlink()
    # checked against PyTorch before it labels anything
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    wrapper.eval()  # the exporter restores the wrapper's mode, which a new Module starts in: training
    with torch.inference_mode():
        want = [t.numpy() for t in wrapper(ids, mask)]
    diffs = [float(np.max(np.abs(g - w))) for g, w in zip(got, want)]
    if max(diffs) > 1e-3:
        raise SystemExit(f"the ONNX export disagrees with PyTorch: {diffs}")
    print(f"exported {path} (largest differences from PyTorch: {', '.join(f'{d:.1e}' for d in diffs)})", file=sys.stderr)


def build(run: Path, threads: int) -> None:
    import onnxruntime as ort
    from tqdm import tqdm

    from kdtext.plugins import get_teacher

    out = run / "bench"
    chunks = out / "chunks"
    chunks.mkdir(parents=True, exist_ok=True)
    texts, sizes = _texts(run)
    teacher = get_teacher("bert").load(run / "teacher" / "model")
    (out / "parts.json").write_text(json.dumps(sizes))
    if not (out / "word_vectors.npz").exists():  # first: variants need them before the labels are all done
        _word_vectors(run, teacher, out)
    onnx_path = out / "teacher.onnx"
    if not onnx_path.exists():
        _export(teacher, onnx_path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    n_chunks = (len(texts) + CHUNK - 1) // CHUNK
    # the pool and the splits (the last chunks) first, then the synthetic examples in order, so
    # that variants on the first N synthetic examples can train while the rest is labelled
    first_real = sizes["synthetic"] // CHUNK
    order = list(range(first_real, n_chunks)) + list(range(first_real))
    todo = [c for c in order if not (chunks / f"{c:05d}.npz").exists()]
    started, done = time.perf_counter(), 0
    bar = tqdm(total=len(texts), initial=len(texts) - sum(len(texts[c * CHUNK : (c + 1) * CHUNK]) for c in todo),
               unit="ex", desc="teacher: probs + sentence vectors", file=sys.stderr, smoothing=0.05)  # fmt: skip
    width = teacher.model.config.hidden_size
    for c in todo:
        part = texts[c * CHUNK : (c + 1) * CHUNK]
        seqs, _ = teacher.encode(part)
        by_length = np.argsort([-len(s) for s in seqs], kind="stable")
        logits = np.zeros((len(part), len(teacher.label_space)), np.float32)
        mean = np.zeros((len(part), width), np.float16)
        first = np.zeros((len(part), width), np.float16)
        i = 0
        while i < len(by_length):
            longest = len(seqs[by_length[i]])
            rows = by_length[i : i + max(1, BATCH_TOKENS // longest)]
            ids = np.full((len(rows), longest), teacher.pad_id, np.int64)
            mask = np.zeros((len(rows), longest), np.int64)
            for r, j in enumerate(rows):
                ids[r, : len(seqs[j])] = seqs[j]
                mask[r, : len(seqs[j])] = 1
            lg, mn, fs = session.run(None, {"input_ids": ids, "attention_mask": mask})
            logits[rows], mean[rows], first[rows] = lg, mn.astype(np.float16), fs.astype(np.float16)
            i += len(rows)
            bar.update(len(rows))
        tmp = chunks / f".{c:05d}.tmp.npz"
        np.savez(tmp, probs=teacher.activation(logits).astype(np.float32), mean=mean, first=first)
        os.replace(tmp, chunks / f"{c:05d}.npz")
        done += len(part)
    bar.close()
    parts = [np.load(chunks / f"{c:05d}.npz") for c in range(n_chunks)]
    np.save(out / "probs.npy", np.concatenate([p["probs"] for p in parts]))
    np.save(out / "reps.npy", np.concatenate([p["mean"] for p in parts]))
    np.save(out / "cls.npy", np.concatenate([p["first"] for p in parts]))
    seconds = time.perf_counter() - started
    print(f"labelled {done:,} examples in {seconds:.0f} s ({done / max(seconds, 1e-9):.1f}/s, {threads} threads); {len(texts):,} in all -> {out}", file=sys.stderr)


def _array(run: Path, key: str) -> np.ndarray:
    """``probs``, ``mean`` or ``first`` for every bench row: from the joined file once the build is
    done, else from the chunks labelled so far (rows of missing chunks are NaN)."""
    joined = run / "bench" / {"probs": "probs.npy", "mean": "reps.npy", "first": "cls.npy"}[key]
    if joined.exists():
        return np.load(joined, mmap_mode="r")
    sizes = json.loads((run / "bench" / "parts.json").read_text())
    total = sum(sizes.values())
    out = None
    for path in sorted((run / "bench" / "chunks").glob("[0-9]*.npz")):
        part = np.load(path)[key]
        if out is None:
            out = np.full((total, part.shape[1]), np.nan, part.dtype)
        c = int(path.stem)
        out[c * CHUNK : c * CHUNK + len(part)] = part
    if out is None:
        raise SystemExit(f"{run / 'bench'}: nothing labelled yet; run the build first")
    return out


def _word_vectors(run: Path, teacher: Any, out: Path) -> None:
    """The teacher's encoder vector of every word of the run (as its vectors stage makes them), at
    full width in PCA order: the first N columns, rescaled, are the N-dimensional vectors."""
    from tqdm import tqdm

    from kdtext.augment.builder import corpus_from_texts
    from kdtext.augment.corpus import TokenizedCorpus
    from kdtext.data import read_texts
    from kdtext.students.vectors import save_vectors, word_vectors

    corpus = TokenizedCorpus.load(run / "corpus" / "corpus")
    pool = corpus_from_texts(read_texts(run / "data" / "unlabeled.jsonl"), lang="en", tagger=None)
    words = set(corpus.vocab) | set(pool.vocab) | set(teacher.vocabulary())
    started = time.perf_counter()
    with tqdm(total=len(words), unit=" words", desc="word vectors", file=sys.stderr) as bar:
        kept, vectors = word_vectors(teacher, words, dims=teacher.model.config.hidden_size, source="encoder", progress=bar.update)
    save_vectors(out / "word_vectors.npz", kept, vectors)
    print(f"{len(kept):,} word vectors in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def vectors_file(run: Path, dims: int) -> Path:
    """``RUN/bench/vectorsDIMS.npz``: the first ``dims`` PCA columns of the word vectors (made once)."""
    from kdtext.students.vectors import load_vectors, save_vectors

    path = run / "bench" / f"vectors{dims}.npz"
    if not path.exists():
        words, full = load_vectors(run / "bench" / "word_vectors.npz")
        part = full[:, :dims]
        save_vectors(path, words, (part / (part.std() or 1.0)).astype(np.float32))
    return path


# -- training variants ---------------------------------------------------------------------------

#: name -> settings. ``student`` and ``params`` as for ``kdtext train-student``; ``vectors``: teacher
#: word-vector dimensions (0: none); ``n_synthetic``: the first N synthetic examples (None: all; the
#: command line's ``--n-synthetic`` overrides it, and the table names the size);
#: ``pool``: add the labelled unlabelled pool; ``rep``: the representation loss, ``{"weight", "dims",
#: "source": "reps" (mean last hidden state) or "cls" (first-token state)}``; ``gold_only``: the baseline.
DEFAULT = {"student": "spacy-fast", "params": {}, "vectors": 64, "n_synthetic": 60000, "pool": True, "rep": None, "gold_only": False}
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline (gold only)": {"gold_only": True, "vectors": 0},
    "spacy-fast": {},
    "spacy-cnn": {"student": "spacy-cnn"},
    "spacy-fast, rep 1.0 x 128": {"rep": {"weight": 1.0, "dims": 128, "source": "reps"}},
    "spacy-fast, rep 0.3 x 128": {"rep": {"weight": 0.3, "dims": 128, "source": "reps"}},
    "spacy-fast, rep 3.0 x 128": {"rep": {"weight": 3.0, "dims": 128, "source": "reps"}},
    "spacy-fast, rep 1.0 x 32": {"rep": {"weight": 1.0, "dims": 32, "source": "reps"}},
    "spacy-fast, rep 10 x 128": {"rep": {"weight": 10.0, "dims": 128, "source": "reps"}},
    "spacy-fast, rep 30 x 128": {"rep": {"weight": 30.0, "dims": 128, "source": "reps"}},
    "spacy-fast, rep 100 x 128": {"rep": {"weight": 100.0, "dims": 128, "source": "reps"}},
    "spacy-fast width 96": {"params": {"width": 96}},
    "spacy-fast, random output init": {"params": {"random_output_init": True}},
    "spacy-fast, window 2 depth 2": {"params": {"window_size": 2, "depth": 2}},
    "spacy-fast, window 1 depth 3": {"params": {"depth": 3}},
    "spacy-fast, patience 10": {"params": {"patience": 10}},
    "spacy-fast, balance 0.5": {"params": {"balance": 0.5}},
    "spacy-fast, balance 1": {"params": {"balance": 1.0}},
    "spacy-fast, patience 10, rep 1.0 x 128": {"params": {"patience": 10}, "rep": {"weight": 1.0, "dims": 128, "source": "reps"}},
    "spacy-fast, reduce head": {"params": {"pooling": "reduce"}},
    "spacy-fast width 96, rep 10 x 128": {"params": {"width": 96}, "rep": {"weight": 10.0, "dims": 128, "source": "reps"}},
    "spacy-fast, cls 1.0 x 128": {"rep": {"weight": 1.0, "dims": 128, "source": "cls"}},
    "spacy-fast, logit loss": {"params": {"loss": "logits"}},
    "spacy-fast, 256-d vectors": {"vectors": 256},
    "spacy-fast, attention head": {"params": {"pooling": "attention"}},
    "spacy-fast, BiLSTM encoder": {"params": {"encoder": "lstm"}},
    "spacy-fast, window + BiLSTM": {"params": {"encoder": "window+lstm"}},
    "spacy-fast, BiLSTM, rep 1.0 x 128": {"params": {"encoder": "lstm"}, "rep": {"weight": 1.0, "dims": 128, "source": "reps"}},
}


def variant(name: str) -> dict[str, Any]:
    if name not in VARIANTS:
        raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    return {**DEFAULT, **VARIANTS[name]}


class Bench:
    """A built bench: the run's splits, the labelled transfer set and the teacher's sentence vectors."""

    def __init__(self, run: Path) -> None:
        from kdtext.augment.builder import corpus_from_texts
        from kdtext.pipeline.artifacts import synthetic_of
        from kdtext.data import Dataset, read_labelled, read_texts
        from kdtext.labels import LabelSpace

        self.run = run
        self.space = LabelSpace.from_json(json.loads((run / "data" / "labels.json").read_text("utf-8")))
        self.train, self.dev, self.test = (read_labelled(run / "data" / f"{n}.jsonl", self.space, allow_empty=True) for n in ("train", "dev", "test"))
        self.sizes = json.loads((run / "bench" / "parts.json").read_text())
        offsets = np.cumsum([0] + [self.sizes[n] for n in PARTS])
        self.rows = {n: np.arange(offsets[i], offsets[i + 1]) for i, n in enumerate(PARTS)}
        self.probs = np.asarray(_array(run, "probs"))
        synthetic = synthetic_of(run)
        self.synthetic = synthetic.to_dataset(self.probs[self.rows["synthetic"]], self.space, soft=True)
        pool = read_texts(run / "data" / "unlabeled.jsonl")
        corpus = corpus_from_texts(pool, lang="en", tagger=None)
        self.pool = Dataset(
            pool, self.probs[self.rows["pool"]], self.space, soft=True,
            words=[corpus.doc_words(i) for i in range(corpus.n_docs)], spaces=[corpus.doc_spaces(i) for i in range(corpus.n_docs)],
        )  # fmt: skip
        self._targets: dict[tuple[str, int], np.ndarray] = {}

    def teacher_accuracy(self, split: str) -> float:
        data = self.dev if split == "dev" else self.test
        return float((self.probs[self.rows[split]].argmax(1) == data.targets.argmax(1)).mean())

    def transfer(self, n_synthetic: int | None, pool: bool) -> tuple[Any, np.ndarray]:
        """The transfer dataset and its rows in the bench's arrays."""
        from kdtext.pipeline.artifacts import concat

        n = self.sizes["synthetic"] if n_synthetic is None else min(n_synthetic, self.sizes["synthetic"])
        data, rows = self.synthetic.subset(range(n)), self.rows["synthetic"][:n]
        if pool:
            data, rows = concat(data, self.pool), np.concatenate([rows, self.rows["pool"]])
        if np.isnan(self.probs[rows]).any():
            raise SystemExit(f"the first {n:,} synthetic examples are not all labelled yet; wait for the build")
        return data, rows

    def targets(self, source: str, dims: int) -> np.ndarray:
        """Representation targets for every bench row (PCA fitted on the labelled synthetic rows)."""
        from kdtext.default_plugins.spacy.representation import RepresentationTargets

        key = (source, dims)
        if key not in self._targets:
            reps = np.asarray(_array(self.run, "mean" if source == "reps" else "first"), dtype=np.float32)
            fit_rows = self.rows["synthetic"]
            self._targets[key] = RepresentationTargets(dims).fit(reps[fit_rows]).transform(reps)
        return self._targets[key]


def train_variant(bench: Bench, name: str, seed: int, n_synthetic: int | None = 0, save: Path | None = None) -> dict[str, Any]:
    """Train one variant with one seed; dev and test figures. ``n_synthetic`` (not 0) overrides the variant's."""
    from spacy.util import fix_random_seed

    from kdtext.metrics import classification_metrics
    from kdtext.students import build_student
    from kdtext.default_plugins.spacy.training import TrainingSettings, make_docs, make_examples, train_textcat

    v = variant(name)
    if n_synthetic != 0:
        v["n_synthetic"] = n_synthetic
    params = {**v["params"], "progress": False}
    if v["vectors"]:
        params["vectors"] = str(vectors_file(bench.run, v["vectors"]))
    student = build_student(v["student"], **params)
    transfer, rows = (None, None) if v["gold_only"] else bench.transfer(v["n_synthetic"], v["pool"])
    fix_random_seed(seed)
    nlp = student._build(bench.space)
    labels = list(bench.space.labels)
    train = bench.train
    gold_docs = make_docs(nlp, train.texts, train.words, train.spaces)
    gold = make_examples(gold_docs, train.targets, labels)
    soft = []
    if transfer is not None:
        soft = make_examples(make_docs(nlp, transfer.texts, transfer.words, transfer.spaces), transfer.targets, labels)
    nlp.initialize(lambda: gold[:10] + soft[:10])
    if student.params["balance"] > 0:  # as the student's fit() does
        from kdtext.default_plugins.spacy.batches import weigh
        from kdtext.default_plugins.spacy.soft_textcat import WEIGHT_KEY

        gold_weights, soft_weights = student._balance_weights(train, transfer)
        weigh(gold, gold_weights, WEIGHT_KEY)
        weigh(soft, soft_weights, WEIGHT_KEY)
    component = nlp.get_pipe("textcat")
    hook, representations = None, None
    if v["rep"]:
        from kdtext.default_plugins.spacy.representation import RepresentationLoss

        targets = bench.targets(v["rep"]["source"], v["rep"]["dims"])
        hook = RepresentationLoss(component, v["rep"]["dims"], v["rep"]["weight"], seed)
        representations = (hook, targets[bench.rows["train"]], targets[rows])
    settings = TrainingSettings(**{key: student.params[key] for key in TrainingSettings.__dataclass_fields__})
    started = time.perf_counter()
    result = train_textcat(
        nlp, "textcat", gold, soft, make_docs(nlp, bench.dev.texts, bench.dev.words, bench.dev.spaces), bench.dev.targets,
        settings, multilabel=bench.space.multilabel, seed=seed, gold_repeats=student.params["gold_repeats"],
        representations=representations,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if hook is not None:
        hook.remove()
    student.nlp, student.label_space = nlp, bench.space
    if save is not None:
        from kdtext.students import save_student

        save_student(student, save, name=v["student"])
    row: dict[str, Any] = {"variant": name, "seed": seed, "settings": v, "train_seconds": round(seconds, 1), "steps": result.steps,
                           "best_step": result.best_step, "n_transfer": 0 if transfer is None else len(transfer)}  # fmt: skip
    if hook is not None:
        row["representation_loss"] = [point.get("representation_loss") for point in result.curve]
    for split, data in (("dev", bench.dev), ("test", bench.test)):
        predicted = student.predict_dataset(data)
        m = classification_metrics(data.targets, predicted, labels)
        row[f"{split}_accuracy"], row[f"{split}_macro_f1"] = m["accuracy"], m["macro_f1"]
        # how far the student follows the teacher: on held-out texts, and on texts it trained on
        row[f"{split}_agreement"] = float((predicted.argmax(1) == bench.probs[bench.rows[split]].argmax(1)).mean())
    if transfer is not None:
        sample = np.random.default_rng(0).choice(len(transfer), min(5000, len(transfer)), replace=False)
        seen = transfer.subset(sample)
        row["transfer_agreement"] = float((student.predict_dataset(seen).argmax(1) == seen.targets.argmax(1)).mean())
    return row


def _key(row: dict[str, Any]) -> str:
    """A result's row in the table: the variant, and its synthetic set size when that was overridden."""
    n = row.get("n_synthetic_override")
    return row["variant"] if n is None or VARIANTS.get(row["variant"], {}).get("gold_only") else f"{row['variant']} @ {'all' if n < 0 else f'{n // 1000}k'} synthetic"


def train(run: Path, names: list[str], seeds: list[int], n_synthetic: int | None = None, save: bool = False) -> None:
    results = run / "bench" / "results.jsonl"
    done = set()
    if results.exists():
        done = {(_key(r), r["seed"]) for r in map(json.loads, results.read_text().splitlines()) if r}
    bench = None
    for name in names:
        variant(name)
        for seed in seeds:
            key = _key({"variant": name, "n_synthetic_override": n_synthetic})
            if (key, seed) in done:
                continue
            bench = bench or Bench(run)
            row = train_variant(bench, name, seed, 0 if n_synthetic is None else (None if n_synthetic < 0 else n_synthetic),
                                save=run / "bench" / "models" / f"{key}-seed{seed}".replace(" ", "_").replace(",", "") if save else None)  # fmt: skip
            row["n_synthetic_override"] = n_synthetic
            with results.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(f"{key} seed {seed}: dev {row['dev_accuracy']:.4f} test {row['test_accuracy']:.4f} "
                  f"({row['train_seconds']:.0f} s, {row['steps']} steps)", file=sys.stderr)  # fmt: skip
    table(run)


def table(run: Path) -> None:
    """Every variant trained so far: mean ± sd over seeds; gap recovered against the baseline and teacher."""
    rows = [json.loads(line) for line in (run / "bench" / "results.jsonl").read_text().splitlines() if line]
    probs = _array(run, "probs")
    sizes = json.loads((run / "bench" / "parts.json").read_text())
    from kdtext.data import read_labelled
    from kdtext.labels import LabelSpace

    space = LabelSpace.from_json(json.loads((run / "data" / "labels.json").read_text("utf-8")))
    start = sum(sizes[n] for n in PARTS[:4])
    test = read_labelled(run / "data" / "test.jsonl", space)
    teacher = float((probs[start : start + sizes["test"]].argmax(1) == test.targets.argmax(1)).mean())
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(_key(r), []).append(r)
    base = by.get("baseline (gold only)")
    base_acc = float(np.mean([r["test_accuracy"] for r in base])) if base else None

    def ms(values: list[float]) -> str:
        return f"{np.mean(values):.4f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.4f}"

    print(f"teacher test accuracy {teacher:.4f}; n = seeds per row")
    print("| variant | n | dev acc | test acc | test macro-F1 | gap recovered | agrees with teacher: dev / transfer | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rs in by.items():
        test_mean = float(np.mean([r["test_accuracy"] for r in rs]))
        gap = f"{(test_mean - base_acc) / (teacher - base_acc):.0%}" if base_acc is not None and name != "baseline (gold only)" else "-"
        agree = [r for r in rs if "dev_agreement" in r]
        agreement = (f"{np.mean([r['dev_agreement'] for r in agree]):.3f} / {np.mean([r.get('transfer_agreement', np.nan) for r in agree]):.3f}"
                     if agree else "-")  # fmt: skip
        print(f"| {name} | {len(rs)} | {ms([r['dev_accuracy'] for r in rs])} | {ms([r['test_accuracy'] for r in rs])} | "
              f"{ms([r['test_macro_f1'] for r in rs])} | {gap} | {agreement} | {np.mean([r['train_seconds'] for r in rs]):.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="label the run's transfer set, keeping the teacher's sentence vectors")
    b.add_argument("run", type=Path)
    b.add_argument("--threads", type=int, default=2)
    t = sub.add_parser("train", help="train variants on a built bench")
    t.add_argument("run", type=Path)
    t.add_argument("--only", nargs="+", required=True, metavar="VARIANT")
    t.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    t.add_argument("--n-synthetic", type=int, help="train every variant on the first N synthetic examples (-1: all)")
    t.add_argument("--save", action="store_true", help="keep each trained student under RUN/bench/models/")
    sub.add_parser("table", help="the table of every variant trained so far").add_argument("run", type=Path)
    sub.add_parser("list", help="the known variants")
    args = parser.parse_args()
    if args.command == "build":
        build(args.run, args.threads)
    elif args.command == "train":
        train(args.run, args.only, args.seeds, args.n_synthetic, args.save)
    elif args.command == "table":
        table(args.run)
    else:
        print("\n".join(VARIANTS))


if __name__ == "__main__":
    main()
