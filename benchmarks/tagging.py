"""Where tokenizing and tagging spend their time, and how well word-type tags agree with tags in context.

    python benchmarks/tagging.py speed [--data demo bbc FILE.jsonl ...] [--repeats 3]
    python benchmarks/tagging.py agreement [--data demo] [--samples 10000 50000 100000]
    python benchmarks/tagging.py quality RUN [--seeds 0 1] [--tag-samples 0 50000]

``speed``: the steps of building a corpus, each timed alone in CPU time of this process
(one core: spaCy's import with and without PyTorch, the blank pipeline, tokenizing with and
without the sentencizer, a Doc's tokens read one token object at a time or as arrays,
loading each tagger, tagging in context), then ``CorpusBuilder`` end to end in texts/s:
untagged, tagged by word type after a sample (spaCy and Brill) and tagged wholly in context.

``agreement``: the share of tokens outside the sample that get the same tag from the
word-type lexicon (:mod:`kdtext.augment.pos_lexicon`) as from spaCy's tagger in context,
for several sample sizes; Brill's agreement with spaCy beside it.

``quality``: what the tags do to the distilled student. For each seed and each
``tag_sample`` (0: every text tagged in context, as before), the recipe of ``kdtext run``
from the corpus on, with RUN's finetuned teacher, labels (its label cache) and word vectors:
corpus of the train and unlabelled texts, the run's augmenters and ``n_synthetic`` (or
``--n-synthetic``), labels,
the distilled student (seed = the seed; ``--no-pool``: on the synthetic examples alone, where
their quality shows most). Prints dev and test accuracy per cell and appends
each result to ``RUN/tagging_quality.jsonl`` (a rerun skips finished cells). The seed varies
augmentation and student; the teacher is the run's.

Timings are CPU seconds of one process (a busy machine disturbs them far less than wall
time); the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def load_average() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def texts_of(names: list[str]) -> list[str]:
    """The train and pool texts of built-in data sets, or the texts of JSONL files (names ending in .jsonl)."""
    from kdtext.datasets import builtin_splits

    texts: list[str] = []
    for name in names:
        if name.endswith(".jsonl"):
            texts += [json.loads(line)["text"] for line in open(name, encoding="utf-8")]
            continue
        train, _, _, pool = builtin_splits(name)
        texts += train.texts + pool
    return texts


def cpu(fn, repeats: int = 1):  # type: ignore[no-untyped-def]
    """(least CPU seconds over ``repeats`` calls, last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def import_cost(without_torch: bool) -> float:
    """CPU seconds of ``import spacy`` in a fresh interpreter (minus the interpreter's own start)."""
    code = "import kdtext.augment.tokenizer as t; t.import_spacy_without_torch()" if without_torch else "import spacy"
    best = float("inf")
    for _ in range(3):
        before = os.times()
        subprocess.run([sys.executable, "-c", code], check=True)
        after = os.times()
        best = min(best, after.children_user - before.children_user + after.children_system - before.children_system)
    base = float("inf")
    for _ in range(3):
        before = os.times()
        subprocess.run([sys.executable, "-c", "import kdtext.augment.tokenizer"], check=True)
        after = os.times()
        base = min(base, after.children_user - before.children_user + after.children_system - before.children_system)
    return best - base


def speed(args: argparse.Namespace) -> None:
    from kdtext.augment.builder import CorpusBuilder
    from kdtext.augment.tagging import tagger_for
    from kdtext.augment.tokenizer import blank_pipeline, doc_arrays, doc_tokens

    texts = texts_of(args.data)
    n = len(texts)
    print(f"{n:,} texts ({', '.join(Path(d).name for d in args.data)}); one process, CPU seconds, best of {args.repeats}; {load_average()}")
    print(f"  import spacy (thinc imports torch)         {import_cost(False):7.2f} s")
    print(f"  import spacy without torch (kdtext augment){import_cost(True):7.2f} s")
    seconds, nlp = cpu(lambda: blank_pipeline("en"))
    print(f"  spacy.blank('en') + sentencizer            {seconds:7.2f} s")
    list(nlp.pipe(texts[:2000]))  # warm the tokenizer's cache as a long run would
    seconds, _ = cpu(lambda: list(nlp.tokenizer.pipe(texts, batch_size=1000)), args.repeats)
    print(f"  tokenizer alone                            {seconds:7.2f} s  {n / seconds:9,.0f} texts/s")
    seconds, docs = cpu(lambda: list(nlp.pipe(texts, batch_size=1000)), args.repeats)
    print(f"  tokenizer + sentencizer                    {seconds:7.2f} s  {n / seconds:9,.0f} texts/s")
    seconds, rows = cpu(lambda: [doc_tokens(doc) for doc in docs], args.repeats)
    print(f"  Doc -> tokens, one token object at a time  {seconds:7.2f} s  {n / seconds:9,.0f} texts/s  (before)")
    seconds, _ = cpu(lambda: [doc_arrays(docs[i : i + 1000]) for i in range(0, n, 1000)], args.repeats)
    print(f"  Doc -> tokens as arrays (Doc.to_array)     {seconds:7.2f} s  {n / seconds:9,.0f} texts/s")
    words = [row[0] for row in rows]
    tokens = sum(map(len, words))
    for name in ("spacy", "brill"):
        seconds, tagger = cpu(lambda: tagger_for("en", name).__class__("en"))
        print(f"  load the {name} tagger ({tagger.model}){'':>{max(0, 21 - len(tagger.model) - len(name))}}{seconds:7.2f} s")
        k = min(n, 3000)
        seconds, _ = cpu(lambda: list(tagger.tag_many(words[:k])))
        print(f"  {name} tags in context ({k:,} texts)        {seconds:7.2f} s  {k / seconds:9,.0f} texts/s  {sum(map(len, words[:k])) / seconds:9,.0f} tokens/s")
    print(f"CorpusBuilder end to end ({tokens:,} tokens; taggers loaded before; texts/s of CPU time):")
    for label, tagger, sample in (
        ("untagged", None, None),
        ("spaCy, 50,000 tokens in context, then by word type", "spacy", 50_000),
        ("Brill, 50,000 tokens in context, then by word type", "brill", 50_000),
        ("spaCy, every text in context (before)", "spacy", None),
    ):
        instance = None if tagger is None else tagger_for("en", tagger)

        def build():  # type: ignore[no-untyped-def]
            builder = CorpusBuilder("en", instance, tag_sample=sample)
            builder._nlp = nlp
            builder.add(texts)
            return builder.build()

        seconds, _ = cpu(build, 1 if sample is None and tagger else args.repeats)
        print(f"  {label:<52} {n / seconds:9,.0f} texts/s  ({seconds:.2f} s)")


def agreement(args: argparse.Namespace) -> None:
    from kdtext.augment.pos_lexicon import PosLexicon
    from kdtext.augment.tagging import tagger_for
    from kdtext.augment.tokenizer import blank_pipeline, doc_tokens

    texts = texts_of(args.data)
    nlp = blank_pipeline("en")
    words = [doc_tokens(doc)[0] for doc in nlp.pipe(texts, batch_size=1000)]
    spacy_tags = list(tagger_for("en", "spacy").tag_many(words))
    brill_tags = list(tagger_for("en", "brill").tag_many(words))
    ends = np.cumsum([len(w) for w in words])
    print(f"{len(texts):,} texts, {int(ends[-1]):,} tokens ({', '.join(args.data)}); reference: spaCy's tagger in context")
    for sample in args.samples:
        split = int(np.searchsorted(ends - np.array([len(w) for w in words]), sample))
        lexicon = PosLexicon()
        lexicon.learn_many(zip(words[:split], spacy_tags[:split]))
        known = agree_known = unknown = agree_unknown = brill = 0
        for doc_words, doc_tags, doc_brill in zip(words[split:], spacy_tags[split:], brill_tags[split:]):
            for word, tag, other in zip(doc_words, doc_tags, doc_brill):
                same = lexicon.tag(word) == tag
                brill += other == tag
                if lexicon.known(word):
                    known, agree_known = known + 1, agree_known + same
                else:
                    unknown, agree_unknown = unknown + 1, agree_unknown + same
        total = known + unknown
        print(
            f"  sample {sample:>7,} tokens ({split:,} texts, {lexicon.n_types:,} word types): word-type tags agree on "
            f"{(agree_known + agree_unknown) / total:.1%} of the other {total:,} tokens (words of the sample "
            f"{agree_known / max(known, 1):.1%}, others {agree_unknown / max(unknown, 1):.1%}: {unknown / total:.1%} of tokens); "
            f"Brill {brill / total:.1%}"
        )


def quality(args: argparse.Namespace) -> None:
    from kdtext import plugins
    from kdtext.augment import SyntheticSet
    from kdtext.augment.builder import CorpusBuilder
    from kdtext.data import Dataset
    from kdtext.labels import LabelSpace
    from kdtext.pipeline.artifacts import concat, split_of
    from kdtext.pipeline.config import RunConfig
    from kdtext.pipeline.stages.augment import _augmenter_instances
    from kdtext.students import build_student, fit_student

    run = args.run
    config = RunConfig(**{k: v for k, v in json.loads((run / "config.json").read_text()).items() if k in RunConfig.__dataclass_fields__})
    if args.n_synthetic is not None:
        config.n_synthetic = args.n_synthetic
    space = LabelSpace.from_json(json.loads((run / "data" / "labels.json").read_text("utf-8")))
    train, dev, test = (split_of(run, name) for name in ("train", "dev", "test"))
    from kdtext.data import read_texts

    pool = read_texts(run / "data" / "unlabeled.jsonl")
    teacher = plugins.get_teacher(config.teacher).load(run / "teacher" / "model")
    mask = json.loads((run / "manifest.json").read_text())["stages"]["teacher"]["summary"].get("mask_token")
    label_options = dict(cache_dir=run / "cache" / "labels", progress=False)
    pool_probs = teacher.label(pool, **label_options).probs
    pool_corpus = CorpusBuilder(config.lang, None)
    pool_corpus.add(pool)
    pool_corpus = pool_corpus.build()
    pool_data = Dataset(pool, pool_probs, space, soft=True, words=[pool_corpus.doc_words(i) for i in range(pool_corpus.n_docs)],
                        spaces=[pool_corpus.doc_spaces(i) for i in range(pool_corpus.n_docs)])  # fmt: skip
    out = run / "tagging_quality.jsonl"
    done = {(r["seed"], r["tag_sample"], r["n_synthetic"], r["pool"]) for r in map(json.loads, out.read_text().splitlines())} if out.exists() else set()
    print(f"{run}: teacher {config.teacher}, {config.n_synthetic:,} synthetic" + ("" if args.no_pool else f" + {len(pool):,} unlabelled")
          + f", student {config.student}; {load_average()}")  # fmt: skip
    for seed in args.seeds:
        for tag_sample in args.tag_samples:
            if (seed, tag_sample, config.n_synthetic, not args.no_pool) in done:
                continue
            started = time.perf_counter()
            builder = CorpusBuilder(config.lang, "auto", tag_sample=tag_sample)
            builder.add(train.texts)
            builder.add(pool)
            corpus = builder.build()
            parts = []
            augmenters = _augmenter_instances(config, mask, corpus.n_docs)
            share, extra = divmod(config.n_synthetic, max(len(augmenters), 1))
            for i, augmenter in enumerate(augmenters):
                parts.append(augmenter.augment(corpus, share + (1 if i < extra else 0), seed=seed + 1000 * i))
            synthetic = SyntheticSet.concat(parts)
            probs = teacher.label(None, teacher.input_ids(synthetic), **label_options).probs
            transfer = synthetic.to_dataset(probs, space, soft=True)
            if not args.no_pool:
                transfer = concat(transfer, pool_data)
            params = {**config.student_params, "lang": config.lang, "progress": False}
            if (run / "vectors" / "vectors.npz").exists():
                params["vectors"] = str(run / "vectors" / "vectors.npz")
            student = build_student(config.student, **params)
            fit_student(student, train, dev, transfer, seed=seed, name=config.student)
            accuracy = {name: float(np.mean(student.predict_proba(data.texts).argmax(1) == data.targets.argmax(1))) for name, data in (("dev", dev), ("test", test))}
            row = {"seed": seed, "tag_sample": tag_sample, "n_synthetic": config.n_synthetic, "pool": not args.no_pool, **accuracy, "tokens_tagged_in_context": builder.tagging.in_context,
                   "synthetic": len(synthetic), "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            print(f"  seed {seed}, tag_sample {tag_sample:>6}: dev {accuracy['dev']:.4f}, test {accuracy['test']:.4f} ({row['seconds']:.0f} s)", flush=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for tag_sample in args.tag_samples:
        cells = [r for r in rows if r["tag_sample"] == tag_sample and r["seed"] in args.seeds and r["n_synthetic"] == config.n_synthetic
                 and r["pool"] == (not args.no_pool)]  # fmt: skip
        if cells:
            print(f"tag_sample {tag_sample:>6}: dev {np.mean([r['dev'] for r in cells]):.4f}, test {np.mean([r['test'] for r in cells]):.4f} (mean of seeds {sorted(r['seed'] for r in cells)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--data", nargs="+", default=["demo"])
    p.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("agreement")
    p.add_argument("--data", nargs="+", default=["demo"])
    p.add_argument("--samples", nargs="+", type=int, default=[10_000, 50_000, 100_000])
    p = sub.add_parser("quality")
    p.add_argument("run", type=Path)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--tag-samples", nargs="+", type=int, default=[0, 50_000])
    p.add_argument("--n-synthetic", type=int, help="Synthetic examples per cell [default: the run's n_synthetic].")
    p.add_argument("--no-pool", action="store_true", help="Train on the synthetic examples alone (more sensitive to them).")
    args = parser.parse_args()
    {"speed": speed, "agreement": agreement, "quality": quality}[args.what](args)


if __name__ == "__main__":
    main()
