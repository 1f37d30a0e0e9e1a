"""``kdtext sweep``: which augmenters, how strong and how much synthetic data, on a run's own data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..options import setting_option


def _list(kind: Callable[[str], Any], what: str) -> Callable[[click.Context, click.Parameter, str | None], list[Any] | None]:
    """A Click callback that parses "0,10000,30000" into a list (None when the option is not given)."""

    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> list[Any] | None:
        if value is None:
            return None
        try:
            items = [kind(part.strip().replace("_", "")) for part in value.split(",") if part.strip()]
        except ValueError:
            raise click.BadParameter(f"{value!r}: give {what} separated by commas") from None
        if not items:
            raise click.BadParameter(f"give at least one of {what}")
        return items

    return parse


def _sizes(text: str) -> int:
    size = int(text)
    if size < 0:
        raise ValueError(text)
    return size


def _strength(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(text)
    return value


def register(cli: click.Group) -> None:
    @cli.command(name="sweep")
    @click.argument("run_dir", metavar="RUN", type=click.Path(file_okay=False, exists=True, path_type=Path))
    @click.option("--augmenter", "augmenters", multiple=True, help="Augmenter to sweep, one line of the learning curves each; join several with + (mask+pos) to share the size between them (repeatable)  [default: the run's].")
    @click.option("--sizes", callback=_list(_sizes, "numbers of synthetic examples (0 = gold + unlabelled texts only)"), help="Synthetic examples per student, e.g. 0,10000,30000,60000  [default: the run's n_synthetic].")
    @click.option("--strength", "strengths", callback=_list(_strength, "probabilities between 0 and 1"), help="The augmenters' change probabilities (p_mask, p_pos), e.g. 0.1,0.3,0.5; augmenters that change no words (ngram, sentence) get one  [default: the run's].")
    @click.option("--seeds", callback=_list(int, "whole numbers"), help="Seeds of augmentation and training, e.g. 0,1,2: the spread of the curves  [default: the run's seed].")
    @setting_option("student", default=None, help="Student plugin  [default: the run's].")
    @setting_option("student_params", help="Student parameter, on top of the run's when the student is the run's (repeatable).")
    @click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="The run's settings (TOML, as for `kdtext run --config`), for a run folder that has no config.json yet.")
    @click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Sweep folder: cells, sweep.json, sweep.html  [default: RUN/sweep].")
    @click.option("--apply", "apply_", is_flag=True, help="Write the best setting on dev as OUTPUT/run.toml, for `kdtext run --config`.")
    @click.option("--json", "as_json", is_flag=True, help="Print sweep.json instead of the table.")
    def sweep_command(
        run_dir: Path, augmenters: tuple[str, ...], sizes: list[int] | None, strengths: list[float] | None, seeds: list[int] | None,
        student: str | None, student_params: tuple[str, ...], config_path: Path | None, out_dir: Path | None, apply_: bool,
        as_json: bool,
    ) -> None:  # fmt: skip
        """Train one distilled student per augmenter, size, strength and seed on RUN's data, and compare them.

        RUN is a folder of `kdtext run`: finished, or unfinished with its settings given by
        --config (the data, teacher, corpus and word vectors are finished first). Every student reuses the run's
        teacher (never refitted), corpus, word vectors and label cache: only examples the
        teacher never labelled are labelled. Prints a table (dev and test accuracy and
        macro-F1, mean ± sd over seeds, training time), marks the best setting on dev and
        says whether it beats the run's own settings beyond noise (McNemar's paired test on
        dev); writes sweep.json (one object per cell) and sweep.html (learning curves).
        Rerunning the same command resumes at the first unfinished cell.

        \b
        Examples:
            kdtext sweep runs/demo --augmenter tang --augmenter mask --augmenter pos --augmenter ngram \\
                --sizes 0,10000,30000,60000
            kdtext sweep runs/demo --sizes 10000,60000 --strength 0.1,0.3,0.5 --seeds 0,1,2 --apply
        """
        import json
        import time

        from ...io import atomic_write, write_json
        from ...params import parse_params
        from ...pipeline.sweep import Sweep, SweepSpec, summarise, write_run_toml
        from ...pipeline.sweep_report import html_page, terminal_table

        spec = SweepSpec(
            augmenters=list(augmenters) or None, sizes=sizes, strengths=strengths, seeds=seeds, student=student,
            student_params=parse_params(student_params),
        )  # fmt: skip
        started = time.perf_counter()
        from ...pipeline import load_config

        sweep = Sweep(run_dir, spec, out_dir, config=load_config(config_path, {}) if config_path else None)
        click.echo(f"kdtext sweep: {len(sweep.cells)} students in {sweep.out_dir}", err=True)
        records = sweep.run()
        summary = summarise(sweep, records)
        summary["seconds"] = round(time.perf_counter() - started, 1)
        write_json(sweep.out_dir / "sweep.json", summary)
        with atomic_write(sweep.out_dir / "sweep.html") as handle:
            handle.write(html_page(summary))
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo(terminal_table(summary))
            click.echo(f"\nsweep: {sweep.out_dir / 'sweep.html'} ({summary['seconds'] / 60:.1f} min)")
        if apply_:
            path = write_run_toml(sweep, summary, sweep.out_dir / "run.toml")
            click.echo(f"wrote the best setting to {path}: kdtext run --config {path} -o NEW_RUN", err=as_json)
