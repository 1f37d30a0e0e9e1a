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


def test_validate_checks_what_each_setting_declares_and_nothing_is_typed_twice():
    """A TOML value is checked against the field's own choices and minimum, whatever the field."""
    import pytest

    from kdtext.errors import ConfigError

    checked = 0
    for field in dataclasses.fields(RunConfig):
        if field.metadata.get("choices"):
            with pytest.raises(ConfigError, match=rf"unknown {field.name} 'nope'; use one of {', '.join(field.metadata['choices'])}"):
                RunConfig(**{"data": "demo", field.name: "nope"}).validate()
            checked += 1
        if "min" in field.metadata:
            with pytest.raises(ConfigError, match=rf"{field.name} must be a whole number of at least {field.metadata['min']}"):
                RunConfig(**{"data": "demo", field.name: field.metadata["min"] - 1}).validate()
            checked += 1
    assert checked >= 8
    RunConfig(data="demo").validate()


def test_the_other_commands_take_the_same_choices_from_the_same_place():
    from kdtext.base import WORD_VECTOR_SOURCES
    from kdtext.default_plugins.bert import ort
    from kdtext.labelling import BACKENDS, PRECISIONS, QUANTIZATIONS
    from kdtext.labelling.engine import ENGINES

    fields = {field.name: field for field in dataclasses.fields(RunConfig)}
    assert fields["backend"].metadata["choices"] is BACKENDS is ort.BACKENDS
    assert fields["engine"].metadata["choices"] is ENGINES and fields["quantize"].metadata["choices"] is QUANTIZATIONS
    assert fields["vectors_from"].metadata["choices"] is WORD_VECTOR_SOURCES
    for command, names in (("label", ("backend", "engine", "quantize", "device", "batch_tokens", "ray_address")), ("augment", ("engine", "ray_address"))):
        options = {param.name: param for param in cli.get_command(None, command).params}
        for name in names:
            option = options[name]
            if fields[name].metadata.get("choices"):
                assert tuple(option.type.choices) == tuple(fields[name].metadata["choices"]), (command, name)
    label = {param.name: param for param in cli.get_command(None, "label").params}
    assert tuple(label["precision"].type.choices) == PRECISIONS
    assert label["backend"].help == fields["backend"].metadata["help"]


def test_the_onnx_exports_live_in_the_kdtext_cache_folder(monkeypatch, tmp_path):
    from kdtext.default_plugins.bert import ort

    monkeypatch.delenv("KDTEXT_ONNX_CACHE", raising=False)
    monkeypatch.setenv("KDTEXT_CACHE_DIR", str(tmp_path / "cache"))
    assert ort.cache_root() == tmp_path / "cache" / "onnx"
    monkeypatch.setenv("KDTEXT_ONNX_CACHE", str(tmp_path / "exports"))
    assert ort.cache_root() == tmp_path / "exports"
