"""Student commands: ``train-student``, ``evaluate`` and ``package``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ...params import parse_params


def register(cli: click.Group) -> None:
    """Add the student commands to the ``kdtext`` group."""
    cli.add_command(train_student)
    cli.add_command(evaluate)
    cli.add_command(package)


@click.command(name="train-student")
@click.option("--train", "train_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Gold training data (JSONL or CSV with text, label).")
@click.option("--dev", "dev_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Gold dev data, for early stopping.")
@click.option("--soft", "soft_paths", multiple=True, type=click.Path(path_type=Path), help="Teacher-labelled examples: a JSONL/CSV file (text, probs) or the Parquet shard folder of `kdtext label --engine ray`; repeatable. Without it: the baseline.")
@click.option("--student", "student_name", default="spacy-fast", show_default=True, help="Student kind (see `kdtext plugins`).")
@click.option("--lang", default=None, help="Language of the texts (spaCy code: en, fr, de, nl...), as in `kdtext augment` and `kdtext run`  [default: the student's, en].")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory to write the trained student to.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Student parameter, e.g. --param width=96; repeatable.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the training figures as JSON.")
def train_student(
    train_path: Path, dev_path: Path, soft_paths: tuple[Path, ...], student_name: str, lang: str | None, output: Path,
    params: tuple[str, ...], seed: int, as_json: bool,
) -> None:
    """Train a student on gold data plus (optionally) a teacher's soft labels.

    \b
    Example:
        kdtext train-student --train train.jsonl --dev dev.jsonl \\
            --soft synthetic_labelled.jsonl --student spacy-cnn -o student/
    """
    import numpy as np

    from ...data import Dataset, label_warnings, read_labelled, read_soft_labels
    from ...students import build_student, fit_student, save_student

    student = build_student(student_name, **_with_lang(student_name, parse_params(params), lang))
    train = read_labelled(train_path)
    dev = read_labelled(dev_path, train.label_space)
    for warning in label_warnings(train, dev=dev):
        click.echo(f"kdtext: warning: {warning}", err=True)
    transfer = None
    if soft_paths:
        parts = [read_soft_labels(path, train.label_space) for path in soft_paths]
        transfer = parts[0] if len(parts) == 1 else Dataset(
            [t for p in parts for t in p.texts], np.concatenate([p.targets for p in parts]), train.label_space, soft=True
        )
    result = fit_student(student, train, dev, transfer, seed=seed, name=student_name)
    save_student(student, output, name=student_name, figures=result)
    figures = result.as_dict()
    if as_json:
        click.echo(json.dumps(figures, indent=2, default=str))
        return
    click.echo(
        f"{student_name}: best dev {figures['dev_metric']} {figures['best_dev_score']:.4f} at step "
        f"{figures['best_step']} of {figures['steps']} ({figures['train_seconds']:.1f} s); saved to {output}"
    )


def _with_lang(student_name: str, params: dict, lang: str | None) -> dict:
    """``params`` with ``lang`` for a student that takes a language; a clear error for one that does not."""
    if lang is None:
        return params
    from ...augment.tokenizer import check_language
    from ...plugins import get_student

    check_language(lang)
    if "lang" not in get_student(student_name).defaults:
        raise click.UsageError(f"student {student_name!r} takes no language; leave out --lang")
    if "lang" in params and params["lang"] != lang:
        raise click.UsageError(f"--lang {lang} and --param lang={params['lang']} disagree; give one of them")
    return {**params, "lang": lang}


def find_student(path: Path) -> Path:
    """The saved student at ``path``: the folder itself, or the ``model/`` inside a run's stage folder.

    A run folder, or a folder with a student somewhere below it, is an error that names
    where the student is.
    """
    from ...errors import ModelError
    from ...students import META_FILE

    if (path / META_FILE).is_file() or not path.is_dir():
        return path  # a student, or a path that load_student reports as missing
    if (path / "model" / META_FILE).is_file():
        return path / "model"  # a stage folder of `kdtext run`: baseline/ or distilled/
    found = sorted(p.parent for p in path.glob(f"*/*/{META_FILE}")) + sorted(p.parent for p in path.glob(f"*/{META_FILE}"))
    if found:
        listing = ", ".join(str(p) for p in found[:4])
        raise ModelError(f"{path}: not a kdtext student, but it holds {'one' if len(found) == 1 else 'some'}: {listing}")
    return path


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("test_path", metavar="TEST", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON.")
def evaluate(model_dir: Path, test_path: Path, as_json: bool) -> None:
    """Evaluate a trained student on gold TEST data.

    MODEL_DIR is a folder `kdtext train-student` wrote, or a stage folder of a run
    (`runs/x/distilled` or `runs/x/baseline`: the student is in its `model/`).

    Prints accuracy, macro-F1, per-class precision/recall/F1, docs per second and
    size on disk (with --json also the confusion matrix).
    """
    from ...base import directory_size
    from ...data import read_labelled
    from ...metrics import format_report
    from ...students import evaluate_student, load_student

    model_dir = find_student(model_dir)
    student = load_student(model_dir)
    test = read_labelled(test_path, student.label_space)
    result = evaluate_student(student, test, size_bytes=directory_size(model_dir))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_report(result))


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory for the package.")
@click.option("--name", default=None, help="Package name (default: the pipeline's, kdtext_student; the language is prefixed).")
@click.option("--version", "version", default=None, help="Package version (default: the pipeline's).")
@click.option("--build", default="sdist,wheel", show_default=True, help="Comma-separated: sdist, wheel, or none (package directory only).")
@click.option("--force", is_flag=True, help="Overwrite an existing package directory.")
def package(model_dir: Path, output: Path, name: str | None, version: str | None, build: str, force: bool) -> None:
    """Turn a trained student into a pip-installable package.

    MODEL_DIR is a folder `kdtext train-student` wrote, or a stage folder of a run
    (runs/demo/distilled). A spaCy student becomes a spaCy pipeline package (spaCy's own
    `spacy package`) that requires spaCy alone: after `pip install DIST/.../dist/*.whl`,
    `spacy.load("en_kdtext_student")` loads it with no kdtext, torch or transformers
    installed. Any other student becomes a Python package whose `load()` returns it (kdtext
    and its plugin must be installed too).
    """
    from ...students.packaging import package_student

    result = package_student(find_student(model_dir), output, name=name, version=version, build=build, force=force)
    click.echo(f"package directory: {result['package_dir']}")
    for artifact in result["artifacts"]:
        click.echo(f"built: {artifact}")
    click.echo(f"load it with: {result['load']}")
