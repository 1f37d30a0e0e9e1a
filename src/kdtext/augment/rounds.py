"""How many augmentation rounds it takes to make ``n`` examples.

The built-in augmenters work in rounds (see :mod:`kdtext.augment`): each round gives at
most one example per source text, and with ``unique`` set, duplicates are dropped. Tang
et al.'s 20 rounds give only about 18 distinct examples per text, so asking 800 texts
for 20,000 examples needs more rounds. :func:`rounds_for` is the first guess that
``kdtext run`` and ``kdtext augment`` share; :func:`augment_n` (``kdtext augment``) adds
rounds when the texts turned out to repeat themselves more than that guess allows, and
stops when more rounds bring almost nothing new: those texts cannot give ``n``.
:func:`run_augmenter` is how kdtext calls an augmenter, held to its contract.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

if TYPE_CHECKING:
    from .corpus import TokenizedCorpus
    from .store import SyntheticSink
    from .synthetic import SyntheticSet

#: Rounds planned per wanted example and source text: room for 20% duplicates.
HEADROOM = 1.25
#: At most this many attempts (rounds x source texts) per wanted example, in all.
MAX_ATTEMPTS_PER_EXAMPLE = 8
#: More rounds that add less than this share of ``n`` mean the texts are exhausted.
SATURATED = 0.01


def run_augmenter(augmenter: Any, corpus: "TokenizedCorpus", n: int | None, *, seed: int = 0) -> SyntheticSet:
    """``augmenter.augment(corpus, n, seed=seed)``, held to the augmenter contract: a
    :class:`SyntheticSet` of at most ``n`` examples, else one :class:`PluginOutputError`
    naming the plugin (and its distribution, for a third-party one)."""
    synthetic = augmenter.augment(corpus, n, seed=seed)
    _check_output(augmenter, synthetic, 0, n)
    return synthetic


def run_augmenter_parts(augmenter: Any, corpus: "TokenizedCorpus", n: int | None, *, seed: int = 0) -> Iterator[SyntheticSet]:
    """The parts of ``augmenter.augment_parts(corpus, n, seed=seed)`` as they come, held to the
    contract as :func:`run_augmenter` holds ``augment``: each a :class:`SyntheticSet`, at most
    ``n`` examples in all."""
    made = 0
    for part in augmenter.augment_parts(corpus, n, seed=seed):
        _check_output(augmenter, part, made, n)
        made += len(part)
        yield part


def _check_output(augmenter: Any, synthetic: Any, before: int, n: int | None) -> None:
    """Raise one :class:`PluginOutputError` naming the augmenter unless ``synthetic`` is a set that
    keeps ``before`` + its examples within ``n``."""
    from .. import plugins
    from ..errors import PluginOutputError
    from .synthetic import SyntheticSet

    if isinstance(synthetic, SyntheticSet) and (n is None or before + len(synthetic) <= n):
        return
    name = getattr(augmenter, "name", "") or type(augmenter).__name__
    who = f"augmenter {name!r}"
    try:
        registration = plugins.get("register_augmenters", name)
        if registration.distribution != "kdtext":
            who += f" (from distribution {registration.distribution} {registration.version})"
    except Exception:  # an augmenter built by hand: its name is all there is
        pass
    if not isinstance(synthetic, SyntheticSet):
        raise PluginOutputError(f"{who} returned {type(synthetic).__name__}, not a kdtext.augment.SyntheticSet")
    raise PluginOutputError(
        f"{who} returned {before + len(synthetic):,} examples when asked for at most n={n:,}, against the augmenter contract"
    )


def rounds_for(n: int, n_texts: int, default: int) -> int:
    """Rounds over ``n_texts`` source texts planned to make ``n`` examples (never fewer than ``default``)."""
    return max(int(default), math.ceil(HEADROOM * n / max(int(n_texts), 1)))


def augment_n(
    corpus: "TokenizedCorpus", augmenter: str, params: dict[str, Any], n: int | None, *, seed: int = 0, engine: Any = None,
    sink: "SyntheticSink | None" = None,
) -> tuple["SyntheticSet | None", dict[str, Any] | None]:
    """``n`` examples from ``corpus`` whenever its texts can give that many.

    With ``sink`` (a :class:`kdtext.augment.store.SyntheticSink`), the examples go to it part
    by part as the augmenter makes them (:meth:`kdtext.Augmenter.augment_parts`; the sink is
    reset before each attempt) and None is returned in place of the set: memory holds one
    part at a time. The sink then holds exactly the set that would have been returned.

    Unless ``params`` sets ``n_iter`` (or the augmenter has none), the rounds are sized
    from ``n`` and the source texts that can be augmented; if duplicates left the set
    short, it is made again with proportionally more rounds (the first rounds are the
    same for the same seed, so the result only grows), at most
    ``MAX_ATTEMPTS_PER_EXAMPLE * n`` attempts in all. A set still short carries the
    augmenter's note saying so. Returns the set and ``engine``'s figures (None without one).
    """
    from ..plugins import get_augmenter
    from .synthetic import MIN_TOKENS

    defaults = getattr(get_augmenter(augmenter), "defaults", {}) or {}
    if n is None and "n_iter" not in defaults:
        n = corpus.n_docs  # the Augmenter contract: only an augmenter with rounds (n_iter) is given None
    sized = n is not None and n > 0 and "n_iter" in defaults and "n_iter" not in params
    texts = int(np.count_nonzero(corpus.doc_lengths() >= MIN_TOKENS))
    rounds = rounds_for(n, texts, defaults["n_iter"]) if sized else None
    cap = math.ceil(MAX_ATTEMPTS_PER_EXAMPLE * n / max(texts, 1)) if sized else None
    previous = -1
    while True:
        aug = get_augmenter(augmenter)(**(dict(params, n_iter=rounds) if sized else params))
        synthetic: "SyntheticSet | None"
        if engine is not None:
            synthetic, figures = engine.augment(corpus, aug, n, seed=seed)
        elif sink is not None:
            sink.reset()
            for part in run_augmenter_parts(aug, corpus, n, seed=seed):
                sink.add(part)
            synthetic, figures = None, None
        else:
            synthetic, figures = run_augmenter(aug, corpus, n, seed=seed), None
        made = len(synthetic) if synthetic is not None else sink.examples  # type: ignore[union-attr]
        if not sized or made >= n or rounds >= cap or made - previous < SATURATED * n:
            if synthetic is not None and sink is not None:
                sink.reset()
                sink.add(synthetic)
                synthetic = None
            return synthetic, figures
        previous = made
        rounds = min(cap, max(rounds + 1, math.ceil(rounds * HEADROOM * n / max(made, 1))))
