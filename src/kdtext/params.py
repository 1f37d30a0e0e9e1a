"""Plugin parameters given on the command line as ``NAME=VALUE`` (``--param``, ``--teacher-param``...)."""

from __future__ import annotations

import json
from typing import Any

from .errors import ConfigError


def parse_params(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``("p_mask=0.15", "n_iter=10")`` -> ``{"p_mask": 0.15, "n_iter": 10}`` (values parsed as JSON where they can be)."""
    params: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--param takes NAME=VALUE, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params
