"""The command-line tool: version, help, one-line errors, --debug tracebacks."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from kdtext import __version__
from kdtext.cli import KdtextGroup, cli
from kdtext.params import parse_params
from kdtext.errors import ConfigError, DataError


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output == f"kdtext, version {__version__}\n"


def test_help_lists_builtin_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("plugins", "install", "uninstall", "run"):
        assert f"  {command} " in result.output


def _group_with_failing_command():
    @click.group(cls=KdtextGroup)
    @click.option("--debug", is_flag=True)
    def group(debug):
        pass

    @group.command()
    def fail():
        raise DataError("train.jsonl", 17, "missing 'label' field")

    return group


def test_kdtext_error_is_one_line(monkeypatch):
    monkeypatch.delenv("KDTEXT_DEBUG", raising=False)
    result = CliRunner().invoke(_group_with_failing_command(), ["fail"])
    assert result.exit_code == 1
    assert result.output == "Error: train.jsonl:17: missing 'label' field\n"


def test_debug_shows_the_exception():
    result = CliRunner().invoke(_group_with_failing_command(), ["--debug", "fail"])
    assert isinstance(result.exception, DataError)


def test_unknown_plugin_name_in_a_real_process():
    result = subprocess.run(
        [sys.executable, "-m", "kdtext", "run", "--data", "demo", "--student", "spacy-cnnn", "--n-synthetic", "0", "-o", "/nonexistent/x"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unknown student 'spacy-cnnn'; available:" in result.stderr


def test_parse_params():
    assert parse_params(("p_mask=0.15", "n_iter=10", "mask_token=<mask>", "flag=true")) == {
        "p_mask": 0.15,
        "n_iter": 10,
        "mask_token": "<mask>",
        "flag": True,
    }
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_params(("p_mask",))
