"""``kdtext run``: the whole recipe in one resumable command."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ..options import run_config_options


#: Where ``kdtext run --help`` lists the stages, read from the recipe when help is shown.
STAGES_MARKER = "STAGES-OF-THE-RECIPE"


class _RunCommand(click.Command):
    """``kdtext run``, whose help lists the recipe's stages as :data:`kdtext.pipeline.recipe.STAGES` has them."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ...pipeline.recipe import STAGES

        width = max(len(stage.name) for stage in STAGES)
        listing = "\n".join(f"  {stage.name.ljust(width)}  {stage.title}" for stage in STAGES)
        original = self.help or ""
        self.help = inspect.cleandoc(original).replace(STAGES_MARKER, f"The {len(STAGES)} stages, each a folder of the run folder:\n{listing}")
        try:
            super().format_help_text(ctx, formatter)
        finally:
            self.help = original


def _overrides(ctx: click.Context, flags: dict[str, Any]) -> dict[str, Any]:
    """The settings given on the command line (not left at their defaults), as RunConfig values."""
    import dataclasses

    from ...params import parse_params
    from ...pipeline.config import RunConfig

    fields = {field.name: field for field in dataclasses.fields(RunConfig)}
    overrides: dict[str, Any] = {}
    for name, value in flags.items():
        if name not in fields or ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            continue
        if fields[name].metadata.get("params"):
            value = parse_params(value)
        elif fields[name].metadata.get("multiple"):
            value = list(value)
        overrides[name] = value
    return overrides


def register(cli: click.Group) -> None:
    @cli.command(cls=_RunCommand)
    @click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML file with the settings below (flags override it).")
    @run_config_options
    @click.option("-o", "--output", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder: artifacts, report, resume state.")
    @click.option("--json", "as_json", is_flag=True, help="Print report.json instead of the table.")
    @click.pass_context
    def run(ctx: click.Context, config_path: str | None, run_dir: str, as_json: bool, **flags) -> None:
        """Run the whole distillation recipe and report baseline, teacher and distilled student.

        \b
        STAGES-OF-THE-RECIPE

        Rerunning the same command after an interruption resumes at the first unfinished
        stage; a changed setting reruns exactly the stages it affects.

        \b
        Examples:
            kdtext run --data demo -o runs/demo
            kdtext run --train train.jsonl --dev dev.jsonl --test test.jsonl \\
                --teacher-model bert-base-uncased --n-synthetic 60000 -o runs/reviews
            kdtext run --config run.toml --seed 1 -o runs/seed1
        """
        from ...pipeline import load_config
        from ...pipeline.recipe import run_recipe
        from ..output import json_stdout

        config = load_config(config_path, _overrides(ctx, flags))
        with json_stdout(as_json) as stdout:
            report = run_recipe(config, Path(run_dir))
            if as_json:
                import json

                click.echo(json.dumps(report, indent=2), file=stdout)
                return
        from ...pipeline.report import terminal_table

        click.echo(terminal_table(report))
        click.echo(f"\nreport: {Path(run_dir) / 'report.html'}")
