"""The ``corpus`` and ``augment`` stages: tokenize and tag the texts, then augment them into synthetic examples.
"""

from __future__ import annotations

import sys
from typing import Any

from ... import plugins
from ...augment.rounds import rounds_for
from ...errors import ConfigError
from ..artifacts import split, unlabeled
from ..config import RunConfig
from ..runner import StageContext
from .teacher import _teacher_source

#: The synthetic set's folder in the augment stage's output (runs made before it held ``synthetic.npz``).
SYNTHETIC = "synthetic"


def _augmenter_instances(config: RunConfig, mask_token: str | None, n_docs: int = 0) -> list[Any]:
    """One augmenter per name, each with the shared parameters it knows.

    Unless ``n_iter`` is set, each augmenter gets enough rounds over the ``n_docs``
    source texts to make its share of ``n_synthetic`` (Tang et al.'s 20 rounds give
    only about 18 distinct examples per text once duplicates are dropped).
    """
    instances = []
    share = -(-config.n_synthetic // max(len(config.augmenters), 1))
    for name in config.augmenters:
        cls = plugins.get_augmenter(name)
        params = {k: v for k, v in config.augment_params.items() if k in cls.defaults}
        if mask_token and "mask_token" in cls.defaults and "mask_token" not in params:
            params["mask_token"] = mask_token
        if n_docs and "n_iter" in cls.defaults and "n_iter" not in params:
            params["n_iter"] = rounds_for(share, n_docs, cls.defaults["n_iter"])
        instances.append(cls(**params))
    unknown = set(config.augment_params) - {k for name in config.augmenters for k in plugins.get_augmenter(name).defaults}
    if unknown:
        raise ConfigError(f"no augmenter among {', '.join(config.augmenters)} takes parameter(s) {', '.join(sorted(unknown))}")
    return instances


def _needs_tags(config: RunConfig) -> bool:
    """Whether some augmenter, as configured, reads POS tags (``Augmenter.needs_tags`` of the instance)."""
    return any(augmenter.needs_tags for augmenter in _augmenter_instances(config, None))


def stage_corpus(ctx: StageContext) -> dict[str, Any]:
    from ...augment.builder import CorpusBuilder

    config = ctx.config
    train = split(ctx, "train")
    tagger = "auto" if config.n_synthetic and _needs_tags(config) else None
    builder = CorpusBuilder(config.lang, tagger, tag_sample=config.tag_sample)
    pool = unlabeled(ctx) if config.augment_unlabeled else []
    from tqdm.auto import tqdm

    what = "tokenizing and tagging" if tagger else "tokenizing"
    with tqdm(total=len(train) + len(pool), desc=what, unit=" texts", file=sys.stderr, leave=False, disable=ctx.runner.quiet) as bar:
        builder.add(train.texts, source=train.source, lines=train.lines, progress=bar.update)
        if pool:
            builder.add(pool, source=ctx.input("data") / "unlabeled.jsonl", lines=range(1, len(pool) + 1), progress=bar.update)
    corpus = builder.build()
    corpus.save(ctx.out / "corpus")
    tagged = corpus.tagged
    if tagger and not tagged:
        from ...augment.tagging import tagger_install_hint

        ctx.log(f"no POS tagger for {config.lang!r}: same-POS word replacement is off ({tagger_install_hint(config.lang)})")
    summary = {"n_docs": corpus.n_docs, "n_tokens": corpus.n_tokens, "vocab": len(corpus.vocab), "tagged": tagged}
    if builder.tagging is not None:
        summary["tokens_tagged_in_context"] = builder.tagging.in_context
    return summary


def _corpus_settings(config: RunConfig) -> Any:
    tags = bool(config.n_synthetic) and _needs_tags(config)
    return {"lang": config.lang, "tags": tags, "tag_sample": config.tag_sample if tags else None, "unlabeled": config.augment_unlabeled}


def stage_augment(ctx: StageContext) -> dict[str, Any]:
    """The synthetic set, written to ``augment/synthetic/`` round by round as the augmenters make it
    (:class:`kdtext.augment.store.SyntheticWriter`): memory holds one round's examples, whatever ``n_synthetic``."""
    from ...augment.corpus import TokenizedCorpus
    from ...augment.store import SyntheticWriter

    config = ctx.config
    corpus = TokenizedCorpus.load(ctx.input("corpus") / "corpus")
    augmenters = _augmenter_instances(config, ctx.summary("teacher").get("mask_token"), corpus.n_docs)
    counts, figures = {}, {}
    engine = _engine(config)
    share, extra = divmod(config.n_synthetic, max(len(augmenters), 1))
    with SyntheticWriter(ctx.out / SYNTHETIC) as writer:
        for i, augmenter in enumerate(augmenters):
            n = share + (1 if i < extra else 0)
            before = writer.examples
            _, figures[augmenter.name] = engine.augment(corpus, augmenter, n, seed=config.seed + 1000 * i, sink=writer)
            counts[augmenter.name] = writer.examples - before
            ctx.log(f"{augmenter.name}: {counts[augmenter.name]:,} synthetic examples ({_rate_line(figures[augmenter.name])})")
        writer.close(vocab=corpus.vocab)
        notes = list(writer.notes)
    for note in notes:
        ctx.log(f"note: {note}")
    return {
        "n_synthetic": writer.examples, "per_augmenter": counts, "notes": notes,
        "engine": {"name": config.engine, "per_augmenter": figures},
    }  # fmt: skip


def _engine(config: RunConfig) -> Any:
    """The run's engine; a local Ray instance it starts stays up for the next stage."""
    from ...labelling.engine import get_engine

    return get_engine(config.engine, config.ray_address, **({"keep_alive": True} if config.engine == "ray" else {}))


def _rate_line(figures: dict[str, Any]) -> str:
    workers = figures.get("workers", 1)
    return f"{figures.get('examples_per_second') or 0:,.0f} examples/s on {workers} worker{'s' if workers != 1 else ''}"


def _augment_settings(config: RunConfig) -> Any:
    return {
        "augmenters": config.augmenters,
        "params": config.augment_params,
        "n": config.n_synthetic,
        "seed": config.seed,
        # the mask token comes from the teacher's base model, not from its finetuning
        "teacher": (config.teacher, _teacher_source(config)),
    }


def _tagger_plugin(config: RunConfig) -> list[tuple[str, str | None]]:
    from ...augment.tagging import best_tagger

    return [("register_taggers", best_tagger(config.lang) if config.n_synthetic and _needs_tags(config) else None)]


def _augmenter_plugins(config: RunConfig) -> list[tuple[str, str | None]]:
    return [("register_augmenters", name) for name in config.augmenters]
