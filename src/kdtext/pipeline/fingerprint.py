"""What a stage's fingerprint hashes: its settings, its upstream stages, and the code that runs.

A stage's fingerprint (format :data:`FINGERPRINT_VERSION`) is a hash of

* its settings (``Stage.settings(config)``: every setting the stage depends on, each
  always present; a new setting changes the fingerprint of the stages it affects, once);
* the fingerprints of its upstream stages;
* the code it runs (:func:`code_identity`): distribution and version of each third-party
  plugin the stage runs, and, for a plugin installed editable or from a local path, a
  hash of its source files, since such code changes without its version changing; the
  same for kdtext itself when it is installed that way (every stage runs kdtext's code).

Run folders of fingerprint version 1 (kdtext 0.1.0) keep resuming: :func:`v1_fingerprint`
gives the fingerprint that version wrote for the same settings, and a stage whose
recorded fingerprint equals it is adopted as done (the code installed now is taken to be
the code that made it: version 1 did not record source hashes).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from typing import Any, Iterable

from .. import __version__, plugins
from ..io import hash_file

FINGERPRINT_VERSION = 2
#: Source files hashed for an editable or local install: Python and Cython.
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd")


def fingerprint(*parts: Any) -> str:
    """16 hex digits of SHA-256 over ``parts`` as sorted JSON (unknown types by ``str``)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def stage_fingerprint(name: str, settings: Any, upstream: list[str], code: dict[str, Any]) -> str:
    """The fingerprint of stage ``name`` (format :data:`FINGERPRINT_VERSION`)."""
    return fingerprint({"fingerprint_version": FINGERPRINT_VERSION, "stage": name, "settings": settings, "upstream": upstream, "code": code})


def source_identity(distribution: str, module: str, cache: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``{"install", "source", "files"}`` for a distribution installed editable or from a local
    path (a SHA-256 over the relative path and bytes of each source file of ``module``'s
    top-level package), else None."""
    if cache is not None and distribution in cache:
        return cache[distribution]
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    kind, _ = plugins.install_origin(dist)
    found = None
    if kind is not None:
        files = plugins.source_files(module, SOURCE_SUFFIXES)
        root = os.path.commonpath([os.path.dirname(path) for path in files]) if files else ""
        digest = hashlib.sha256()
        for path in files:
            digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
            hash_file(path, digest)
            digest.update(b"\0")
        found = {"install": kind, "source": digest.hexdigest(), "files": len(files)}
    if cache is not None:
        cache[distribution] = found
    return found


def code_identity(uses: Iterable[tuple[str, str | None]], cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """Distribution -> ``{"version", and for a local or editable install "install", "source", "files"}``
    of the code a stage runs: the third-party plugins among ``uses`` (``(hook, name)`` pairs; a
    name of None is skipped) and kdtext itself when it is installed editable or from a local
    path. Built-in plugins are kdtext's code; an ordinary kdtext install is left out (its
    upgrades do not rerun finished stages)."""
    found: dict[str, Any] = {}
    for hook, name in uses:
        if name is None:
            continue
        registration = plugins.get(hook, name)
        if registration.distribution != "kdtext":
            module = getattr(registration.factory, "__module__", None) or registration.plugin
            found[registration.distribution] = {
                "version": registration.version, **(source_identity(registration.distribution, module, cache) or {})
            }
    own = source_identity("kdtext", "kdtext", cache)
    if own is not None:
        found["kdtext"] = {"version": __version__, **own}
    return dict(sorted(found.items()))


def v1_fingerprint(name: str, settings: Any, upstream: list[str], code: dict[str, Any]) -> str:
    """The fingerprint kdtext 0.1.0 (fingerprint version 1) gave a stage with these settings
    (its own special cases: settings added later were left out at their old values) and the
    version-1 fingerprints of its upstream stages."""
    used = {dist: info["version"] for dist, info in code.items() if dist != "kdtext"}
    return fingerprint(name, _v1_settings(name, settings), upstream, *([used] if used else []))


#: Settings that came after fingerprint version 1, left out of what it hashed (``report`` hashes the whole config).
NEWER_THAN_V1 = ("tag_sample",)


def _v1_settings(name: str, settings: Any) -> Any:
    if name == "report":
        return {key: value for key, value in settings.items() if key not in NEWER_THAN_V1}
    if name == "corpus":  # `unlabeled` only when on
        return {"lang": settings["lang"], "tags": settings["tags"], **({"unlabeled": True} if settings["unlabeled"] else {})}
    if name == "label":  # `backend` only when not "auto"
        return {"quantize": settings["quantize"], **({"backend": settings["backend"]} if settings["backend"] != "auto" else {})}
    if name == "vectors":  # the dimensions alone before `vectors_from` existed
        return settings["dims"] if settings["from"] == "embeddings" else settings
    return settings
