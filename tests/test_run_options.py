"""`kdtext run`'s options come from RunConfig's fields: one source for defaults, help and TOML keys."""

from __future__ import annotations

import dataclasses
import json

import click
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.pipeline.config import RunConfig


def _run_command():
    return cli.get_command(None, "run")


def test_every_setting_is_one_option_with_the_fields_default():
    options = {param.name: param for param in _run_command().params}
    fields = dataclasses.fields(RunConfig)
    for field in fields:
        assert field.name in options, f"RunConfig.{field.name} has no `kdtext run` option"
        assert field.metadata.get("help"), f"RunConfig.{field.name} has no help"
        option = options[field.name]
        default = option.get_default(click.Context(_run_command()))
        default = None if type(default).__name__ == "Sentinel" else default  # click >= 8.3: UNSET
        if option.multiple:  # repeatable: unset on the command line, the field's factory gives the default
            assert not default
        else:
            assert default == field.default, field.name
        assert option.help == field.metadata["help"]
    assert set(options) - {field.name for field in fields} == {"config_path", "run_dir", "as_json"}


def test_a_flag_reaches_the_config_under_the_field_name(tmp_path, monkeypatch):
    seen = {}

    def fake_run(config, run_dir, **kwargs):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr("kdtext.pipeline.recipe.run_recipe", fake_run)
    args = ["run", "--data", "demo", "-o", str(tmp_path / "r"), "--teacher-param", "epochs=2", "--augmenter", "mask",
            "--augmenter", "ngram", "--param", "n_iter=3", "--no-augment-unlabeled", "--n-synthetic", "10"]  # fmt: skip
    CliRunner().invoke(cli, args)
    config = seen["config"]
    assert config.teacher_params == {"epochs": 2} and config.augmenters == ["mask", "ngram"]
    assert config.augment_params == {"n_iter": 3} and config.augment_unlabeled is False and config.n_synthetic == 10
    assert config.student == RunConfig().student  # left at its default
    json.dumps(config.to_json())
