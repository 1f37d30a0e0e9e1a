"""``kdtext train-teacher`` and ``kdtext label``: finetune a teacher; label examples with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ...errors import ConfigError, DataError
from ...labelling import PRECISIONS
from ..options import setting_option


def _build_teacher(name: str, params: dict[str, Any]) -> Any:
    from ...plugins import get_teacher

    cls = get_teacher(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"teacher {name!r} does not take these parameters: {exc}") from None


def register(cli: click.Group) -> None:
    @cli.command(name="train-teacher")
    @click.option("--train", "train_path", required=True, type=click.Path(dir_okay=False), help="Training data: JSONL or CSV with text and label.")
    @click.option("--dev", "dev_path", type=click.Path(dir_okay=False), help="Dev data for early stopping (the best epoch is kept).")
    @click.option("--model", "model", required=True, help="Base model: a local Hugging Face directory (or a hub name where reachable).")
    @click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Directory to write the finetuned teacher to.")
    @click.option("--teacher", "teacher_name", default="bert", show_default=True, help="Teacher plugin.")
    @click.option("--epochs", type=int, help="Epochs [default: adapted to the data size, as said above].")
    @click.option("--lr", type=float, help="Peak learning rate (default 5e-5; 2e-5 to 3e-5 for base-sized models).")
    @click.option("--batch-size", type=int, help="Examples per training step (default 32).")
    @click.option("--max-length", type=int, help="Tokens per example (default: 99th percentile of the training texts).")
    @click.option("--seed", type=int, help="Random seed (default 0).")
    @setting_option("device", default=None, help="Where the teacher trains: auto (CUDA when available), cpu, cuda or cuda:N  [default: the teacher's, auto].")
    @click.option("--param", "raw_params", multiple=True, metavar="NAME=VALUE", help="Any other teacher parameter (repeatable).")
    @click.option("--json", "as_json", is_flag=True, help="Print the training figures as JSON.")
    def train_teacher(
        train_path: str,
        dev_path: str | None,
        model: str,
        output: str,
        teacher_name: str,
        epochs: int | None,
        lr: float | None,
        batch_size: int | None,
        max_length: int | None,
        seed: int | None,
        device: str | None,
        raw_params: tuple[str, ...],
        as_json: bool,
    ) -> None:
        """Finetune a teacher on gold data and save it (a standard Hugging Face directory).

        Default schedule (teacher 'bert', without --epochs): enough epochs for 200
        optimizer steps, at least 3 and at most 20 (--param min_steps=N,
        --param max_epochs=N): 1,000 examples at batch 32 get 7 epochs, 200 examples
        get 20. The best dev epoch is kept; early stopping (2 epochs without a better
        dev score, --param patience=N) only once those 200 steps are done.

        \b
        Example:
            kdtext train-teacher --train train.jsonl --dev dev.jsonl \\
                --model path/to/all-MiniLM-L6-v2 -o runs/teacher
        """
        from ...data import read_labelled
        from ...params import parse_params

        params = parse_params(raw_params)
        given = {"model": model, "epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length, "seed": seed, "device": device}
        params.update({key: value for key, value in given.items() if value is not None})
        train = read_labelled(train_path)
        dev = read_labelled(dev_path, train.label_space) if dev_path else None
        teacher = _build_teacher(teacher_name, params)
        figures = teacher.fit(train, dev)
        teacher.save(output)
        if as_json:
            click.echo(json.dumps({"output": output, "size_bytes": teacher.size_bytes(), **figures}, indent=2, default=str))
            return
        parts = [f"trained teacher {teacher_name!r} on {len(train)} examples ({train.label_space.task}: {', '.join(train.label_space.labels)})"]
        if figures.get("dev_metric") is not None:
            parts.append(f"best epoch {figures.get('best_epoch')}: dev {figures.get('dev_metric_name', 'score')} {figures['dev_metric']:.4f}")
        if figures.get("train_seconds") is not None:
            parts.append(f"{figures['train_seconds']:.1f} s")
        if figures.get("n_truncated"):
            parts.append(f"{figures['n_truncated']} training texts truncated to {figures.get('max_length')} tokens")
        click.echo("; ".join(parts) + f" -> {output}")

    @cli.command(name="label")
    @click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
    @click.option("-o", "--output", required=True, type=click.Path(), help="JSONL to write: one row per input row, in input order (with --engine ray, a name not ending in .jsonl is a folder of Parquet shards + manifest.json).")
    @click.option("--teacher", "teacher_name", default="bert", show_default=True, help="Teacher plugin.")
    @click.option("--model", "model", required=True, help="The teacher: a directory from train-teacher or a run's teacher/model (for 'file': the soft-label file).")
    @setting_option("batch_tokens")
    @setting_option("device", default=None, help="Where the teacher runs: auto (CUDA when available), cpu, cuda or cuda:N  [default: the teacher's, auto].")
    @setting_option("quantize", help="Dynamic int8 quantization of the teacher on the CPU (its agreement with fp32 is reported).")
    @click.option("--agreement-sample", type=int, default=256, show_default=True, help="With --quantize: examples also labelled in fp32 to report the agreement (0: skip).")
    @click.option("--precision", type=click.Choice(PRECISIONS), help="Numerics: auto = bf16 autocast on CUDA, fp32 on the CPU; bf16 on the CPU runs on PyTorch (close to fp32, fast only on CPUs with bf16 instructions); fp16 is CUDA's.")
    @setting_option("backend", default=None)
    @click.option("--logits", "with_logits", is_flag=True, help="Also write the raw scores before softmax/sigmoid.")
    @click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Label cache directory: known examples are free; an interrupted job resumes.")
    @click.option("--text-field", default="text", show_default=True, help="Name of the text field/column.")
    @click.option("--no-progress", is_flag=True, help="No progress bar.")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    @setting_option("engine", help="Where labelling runs: this process, or an actor pool on Ray (one teacher per GPU or CPU slot).")
    @setting_option("ray_address")
    def label_command(
        input_path: str,
        output: str,
        teacher_name: str,
        model: str,
        batch_tokens: int | None,
        device: str | None,
        quantize: str | None,
        agreement_sample: int,
        precision: str | None,
        backend: str | None,
        with_logits: bool,
        cache_dir: str | None,
        text_field: str,
        no_progress: bool,
        as_json: bool,
        engine: str,
        ray_address: str | None,
    ) -> None:
        """Label INPUT (JSONL or CSV with a text field) with a teacher's probabilities.

        \b
        Writes {"text": ..., "probs": {"<label>": p, ...}} per line (plus "logits" with
        --logits), one row per input row in input order, atomically.
        Example:
            kdtext label synthetic.jsonl -o soft.jsonl --model runs/teacher --cache runs/cache
            kdtext label pool.jsonl -o soft/ --model runs/teacher --cache /shared/cache --engine ray --ray-address auto
        """
        from ...data import read_texts
        from ...io import write_jsonl
        from ...labelling import LabelOptions, label_with_teacher
        from ...labelling.engine import get_engine
        from ...plugins import get_teacher
        from ..output import json_stdout

        if ray_address and engine != "ray":
            raise click.UsageError("--ray-address needs --engine ray")
        sharded = engine == "ray" and not str(output).lower().endswith(".jsonl")
        if not sharded and Path(output).is_dir():
            raise ConfigError(f"{output} is a folder; give a .jsonl file (or use --engine ray for Parquet shards)")
        texts = read_texts(input_path, text_field=text_field)
        if not texts:
            raise DataError(input_path, None, "no examples in the file")
        teacher = get_teacher(teacher_name).load(model)
        if teacher.label is None:  # these flags are options of a batch labeller (Teacher.label)
            for flag, value in (("--batch-tokens", batch_tokens), ("--device", device), ("--quantize", quantize), ("--cache", cache_dir), ("--backend", backend), ("--precision", precision)):
                if value is not None:
                    raise ConfigError(f"teacher {teacher_name!r} does not take {flag}")
        options = LabelOptions(
            cache_dir=cache_dir, batch_tokens=batch_tokens, device=device, quantize=quantize, precision=precision or "auto", backend=backend
        )
        with json_stdout(as_json) as stdout:  # Ray copies its workers' lines to stdout
            result, engine_figures = get_engine(engine, ray_address).label(
                teacher, texts, options=options, model_path=model, teacher_name=teacher_name, progress=not no_progress, logits=with_logits
            )
        summary: dict[str, Any] = result.summary()
        if engine == "ray":
            summary["engine"] = engine_figures
        else:
            engine_figures = None
        labels = list(teacher.label_space.labels)
        if quantize and agreement_sample > 0:
            sample = min(agreement_sample, len(texts))
            reference = label_with_teacher(teacher, texts[:sample], options=LabelOptions(device="cpu", batch_tokens=batch_tokens))
            summary["int8_agreement"] = round(float((reference.probs.argmax(1) == result.probs[:sample].argmax(1)).mean()), 4)
            summary["int8_max_abs_prob_diff"] = round(float(abs(reference.probs - result.probs[:sample]).max()), 5)
            summary["agreement_sample"] = sample
        summary["output"] = str(Path(output))
        if sharded:
            from ...labelling.engine.files import write_label_shards

            manifest = write_label_shards(output, texts, result.probs, labels, logits=result.logits if with_logits else None, summary=summary)
            summary["shards"] = len(manifest["files"])
        else:
            write_jsonl(output, result.rows(texts, labels, logits=with_logits))
        if as_json:
            click.echo(json.dumps(summary, indent=2), file=stdout)
            return
        line = (
            f"labelled {summary['examples']} examples ({summary['truncated']} truncated, "
            f"{summary['cache_hits']} from cache) in {summary['seconds']:.1f} s: "
            f"{summary['examples_per_second']} examples/s"
        )
        if engine_figures is None and summary.get("device") not in (None, "", "n/a"):
            line += f" ({summary['variant']} on {summary['device']})"
        if engine_figures is not None:
            line += f" on {engine_figures['workers']} Ray worker(s)"
            if sharded:
                line += f", {summary['shards']} Parquet shard(s) + manifest.json"
        if "int8_agreement" in summary:
            line += f"; int8 agrees with fp32 on {summary['int8_agreement']:.1%} of {summary['agreement_sample']} examples"
        click.echo(f"{line} -> {output}")
