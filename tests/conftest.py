"""Shared fixtures: fake plugins registered for one test and removed after it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any, Iterator

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the plugin command cache of test runs stays out of the user's ~/.cache
if "KDTEXT_CACHE_DIR" not in os.environ:
    os.environ["KDTEXT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kdtext-test-cache-")
    atexit.register(shutil.rmtree, os.environ["KDTEXT_CACHE_DIR"], True)


@pytest.fixture
def register_plugin() -> Iterator[Any]:
    """``register_plugin(obj, name)`` registers a plugin object until the test ends."""
    from kdtext import plugins

    plugins.load_plugins()
    added: list[str] = []

    def register(plugin: object, name: str, distribution: tuple[str, str] | None = None) -> object:
        plugins.pm.register(plugin, name=name)
        added.append(name)
        if distribution is not None:
            plugins._distributions[name] = distribution
        return plugin

    yield register
    for name in added:
        plugins.pm.unregister(name=name)
        plugins._distributions.pop(name, None)
