"""``kdtext taggers``: which languages have a part-of-speech tagger here."""

from __future__ import annotations

import json

import click


def register(cli: click.Group) -> None:
    @cli.command(name="taggers")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def taggers_command(as_json: bool) -> None:
        """List the languages that have a POS tagger installed, best tagger first.

        Same-POS replacement (the `pos` augmenter, and part of `tang`) needs one. Any
        other language spaCy can tokenize still works with the other augmenters.
        """
        from ...augment.tagging import available_taggers
        from ...default_plugins.taggers import brill_models, spacy_models

        table = available_taggers()
        if as_json:
            click.echo(json.dumps(table, indent=2))
            return
        if not table:
            click.echo("no POS tagger installed: install a spaCy pipeline (en_core_web_sm...) or brill-postagger")
            return
        models = spacy_models()
        brill = brill_models()
        for lang, names in table.items():
            detail = []
            for name in names:
                if name == "spacy" and lang in models:
                    detail.append(f"spacy ({models[lang]})")
                elif name == "brill" and lang in brill:
                    detail.append(f"brill ({brill[lang].stem})")
                else:
                    detail.append(name)
            click.echo(f"  {lang:<4} {', '.join(detail)}")
        click.echo(
            "other languages spaCy can tokenize: no tagger; `pos` is unavailable and `tang` runs "
            "without same-POS replacement (with a note)"
        )
