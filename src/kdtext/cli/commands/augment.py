"""``kdtext augment``: make synthetic examples from a file of texts."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import setting_option


def register(cli: click.Group) -> None:
    @cli.command(name="augment")
    @click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSONL file to write.")
    @click.option("--augmenter", "augmenters", multiple=True, help="Augmenter name (see `kdtext plugins`); one per file (`kdtext run` mixes several).  [default: tang]")
    @click.option("--n", "n", type=click.IntRange(min=0), default=None, help="Examples to make: as many rounds as that takes, unless --param n_iter=R is given; fewer only when the texts give no more distinct ones (the summary says so)  [default: all that n_iter rounds give].")
    @click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same file.")
    @click.option("--lang", default="en", show_default=True, help="Language of the texts (spaCy code: en, fr, de, es, it, nl...).")
    @click.option("--tagger", default="auto", show_default=True, help="POS tagger for same-POS replacement (see `kdtext taggers`).")
    @setting_option("tag_sample")
    @click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Augmenter parameter, e.g. p_mask=0.15 (repeatable).")
    @click.option("--text-field", default="text", show_default=True, help="Field (or CSV column) holding the text.")
    @click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), help="Corpus cache folder: texts tokenized and tagged by an earlier run with the same --lang are loaded from here.")
    @click.option("--quiet", is_flag=True, help="No progress bars.")
    @setting_option("engine", help="Where augmentation runs: this process, or shards on Ray (same output for the same seed).")
    @setting_option("ray_address")
    def augment_command(
        input_path: Path, output: Path, augmenters: tuple[str, ...], n: int | None, seed: int, lang: str,
        tagger: str, tag_sample: int, params: tuple[str, ...], text_field: str, cache_dir: Path | None, quiet: bool,
        engine: str, ray_address: str | None,
    ) -> None:  # fmt: skip
        """Make synthetic examples from the texts of INPUT (JSONL or CSV with a `text` field).

        Writes OUTPUT as JSONL, one `{"text", "source", "augmenter"}` object per line, where
        `source` is the 0-based position of the text in INPUT. Empty texts and texts of one
        token are skipped and counted in the summary; a missing field, bytes that are not
        UTF-8 or a text over 100,000 characters stop the run with the file and line.

        \b
        Example:
            kdtext augment train.jsonl -o synthetic.jsonl --augmenter tang --n 60000 --param p_mask=0.15
            kdtext augment pool.jsonl -o synthetic.jsonl --n 5000000 --engine ray --ray-address auto
        """
        from ...params import parse_params

        if ray_address and engine != "ray":
            raise click.UsageError("--ray-address needs --engine ray")
        if len(augmenters) > 1:  # Click would otherwise keep the last one without a word
            from ...errors import ConfigError

            raise ConfigError(f"one --augmenter per file, got {len(augmenters)} ({', '.join(augmenters)}); run kdtext augment once for each")
        augmenter = augmenters[0] if augmenters else "tang"
        from ...augment import augment_file
        from ...augment.tokenizer import import_spacy_without_torch

        import_spacy_without_torch()  # this process only tokenizes, tags and augments

        summary = augment_file(
            input_path, output, augmenter=augmenter, n=n, seed=seed, lang=lang, tagger=tagger,
            params=parse_params(params), text_field=text_field, progress=not quiet,
            engine=None if engine == "local" else _engine(engine, ray_address), cache_dir=cache_dir, tag_sample=tag_sample,
        )  # fmt: skip
        for note in summary["notes"]:
            click.echo(f"note: {note}", err=True)
        hint = _tagger_hint(augmenter, parse_params(params), lang, tagger)
        if hint:
            click.echo(f"note: {hint}", err=True)
        click.echo(summary["line"])


def _tagger_hint(augmenter: str, params: dict, lang: str, tagger: str) -> str | None:
    """How to get a POS tagger, when the augmenter would use one and ``lang`` has none here."""
    from ...augment import make_augmenter, needs_tags
    from ...augment.tagging import best_tagger

    if tagger != "auto" or best_tagger(lang) is not None or not needs_tags(make_augmenter(augmenter, **params)):
        return None
    from ...augment.tagging import tagger_install_hint

    return f"no POS tagger for {lang!r} is installed: {tagger_install_hint(lang)}"


def _engine(name: str, ray_address: str | None):
    from ...labelling.engine import get_engine

    return get_engine(name, ray_address)
