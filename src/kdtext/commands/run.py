"""``kdtext run``: the whole recipe in one resumable command."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource


def register(cli: click.Group) -> None:
    from ..cli import parse_params

    @cli.command()
    @click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML file with the settings below (flags override it).")
    @click.option("--data", type=click.Choice(["demo"]), help="Built-in data: 'demo' = Rotten Tomatoes snippets, 1000/1000/1000 + unlabelled pool.")
    @click.option("--train", type=click.Path(dir_okay=False), help="Labelled training data (JSONL or CSV with text, label).")
    @click.option("--dev", type=click.Path(dir_okay=False), help="Labelled dev data, for early stopping.")
    @click.option("--test", type=click.Path(dir_okay=False), help="Labelled test data, for the report.")
    @click.option("--unlabeled", type=click.Path(dir_okay=False), help="Real unlabelled texts to add to the transfer set.")
    @click.option("--teacher", default="bert", show_default=True, help="Teacher plugin.")
    @click.option("--teacher-model", help="Base model to finetune, or a teacher saved by kdtext (path or hub name).")
    @click.option("--teacher-param", multiple=True, metavar="NAME=VALUE", help="Teacher parameter, e.g. epochs=3 (repeatable).")
    @click.option("--augmenter", "augmenters", multiple=True, help="Augmenter plugin (repeatable)  [default: tang]")
    @click.option("--param", "augment_params", multiple=True, metavar="NAME=VALUE", help="Augmenter parameter, e.g. p_mask=0.15 (repeatable).")
    @click.option("--n-synthetic", type=click.IntRange(min=0), default=60000, show_default=True, help="Synthetic examples to make.")
    @click.option("--augment-unlabeled/--no-augment-unlabeled", default=True, show_default=True, help="Make synthetic examples from the unlabelled texts too, not only from the training texts.")
    @click.option("--lang", default="en", show_default=True, help="Language of the texts (spaCy code).")
    @click.option("--seed", type=int, default=0, show_default=True, help="Random seed for augmentation and training.")
    @click.option("--teacher-vectors", type=click.IntRange(min=0), default=64, show_default=True, help="Give the distilled student static word vectors of this many dimensions from the teacher (0: none; the baseline never gets them).")
    @click.option("--vectors-from", type=click.Choice(["encoder", "embeddings"]), default="encoder", show_default=True, help="Take those vectors from the finetuned teacher reading each word (encoder) or from its input embedding table (embeddings).")
    @click.option("--student", default="spacy-cnn", show_default=True, help="Student plugin.")
    @click.option("--student-param", multiple=True, metavar="NAME=VALUE", help="Student parameter, e.g. width=128 (repeatable).")
    @click.option("--device", default="auto", show_default=True, help="Teacher device: auto, cpu, cuda or cuda:N.")
    @click.option("--batch-tokens", type=click.IntRange(min=1), help="Tokens per labelling batch.")
    @click.option("--quantize", type=click.Choice(["int8"]), help="Quantize the teacher for CPU labelling.")
    @click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where augmentation and labelling run (ray: same results, spread over a Ray cluster).")
    @click.option("--ray-address", help="With --engine ray: the cluster to use (e.g. auto, ray://head:10001) [default: start a local Ray instance].")
    @click.option("-o", "--output", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder: artifacts, report, resume state.")
    @click.option("--json", "as_json", is_flag=True, help="Print report.json instead of the table.")
    @click.pass_context
    def run(ctx: click.Context, config_path: str | None, run_dir: str, as_json: bool, **flags) -> None:
        """Run the whole distillation recipe and report baseline, teacher and distilled student.

        \b
        Stages: load and validate data, finetune (or load) the teacher, tokenize and tag,
        augment, label with the teacher, train the baseline student, train the distilled
        student, evaluate all three on test, write report.json and report.html.

        Rerunning the same command after an interruption resumes at the first unfinished
        stage; a changed setting reruns exactly the stages it affects.

        \b
        Examples:
            kdtext run --data demo -o runs/demo
            kdtext run --train train.jsonl --dev dev.jsonl --test test.jsonl \\
                --teacher-model bert-base-uncased --n-synthetic 60000 -o runs/reviews
            kdtext run --config run.toml --seed 1 -o runs/seed1
        """
        from ..pipeline import load_config
        from ..pipeline.recipe import run_recipe

        rename = {"augment_params": "augment_params", "teacher_param": "teacher_params", "student_param": "student_params"}
        overrides = {}
        for name, value in flags.items():
            if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
                continue
            if name in ("augment_params", "teacher_param", "student_param"):
                value = parse_params(value)
            elif name == "augmenters":
                value = list(value)
            overrides[rename.get(name, name)] = value
        config = load_config(config_path, overrides)
        report = run_recipe(config, Path(run_dir))
        if as_json:
            import json

            click.echo(json.dumps(report, indent=2))
        else:
            from ..pipeline.report import terminal_table

            click.echo(terminal_table(report))
            click.echo(f"\nreport: {Path(run_dir) / 'report.html'}")
