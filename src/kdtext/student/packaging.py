"""Export a trained student as a pip-installable spaCy pipeline package.

spaCy's own ``spacy package`` lays out the package (``setup.py``, ``meta.json``, the
pipeline as package data, ``kdtext`` listed as a requirement because the pipeline uses
its ``kdtext_soft_textcat`` factory). The sdist and wheel are then built with the
setuptools and pip already installed, without build isolation, so no network is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, KdtextError, ModelError
from .spacy_student import read_student_meta

BUILD_FORMATS = ("sdist", "wheel")


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise KdtextError(f"building the {what} failed (exit code {result.returncode}): {' / '.join(tail)}")


def package_student(
    model_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    name: str | None = None,
    version: str | None = None,
    build: str = "sdist,wheel",
    force: bool = False,
) -> dict[str, Any]:
    """Package the student at ``model_dir`` under ``output_dir``.

    ``build`` is a comma-separated subset of ``sdist``, ``wheel``, or ``none``.
    Returns ``{"name", "version", "package_dir", "artifacts"}`` where ``name`` is what
    ``spacy.load`` takes once the package is installed and ``artifacts`` are the built files.
    """
    from spacy.cli.package import package as spacy_package

    model_dir, output_dir = Path(model_dir), Path(output_dir)
    read_student_meta(model_dir)  # a kdtext student, not any directory
    formats = {part.strip() for part in build.split(",") if part.strip()}
    if formats == {"none"}:
        formats = set()
    unknown = formats - set(BUILD_FORMATS)
    if unknown:
        raise ConfigError(f"--build takes sdist, wheel or none, got {build!r}")
    try:
        meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{model_dir}: no readable spaCy meta.json ({exc})") from None
    if name is not None:
        meta["name"] = name
    if version is not None:
        meta["version"] = version
    package_name = meta["name"] if meta["name"].startswith(f"{meta['lang']}_") else f"{meta['lang']}_{meta['name']}"
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        spacy_package(
            model_dir, output_dir, name=name, version=version,
            create_sdist=False, create_wheel=False, force=force, silent=True,
        )
    except SystemExit:  # spaCy's CLI helpers exit on errors; its message was suppressed
        main_path = output_dir / f"{package_name}-{meta['version']}"
        if (main_path / package_name).exists() and not force:
            raise KdtextError(f"{main_path}: the package directory already exists; use --force to overwrite it") from None
        raise KdtextError(
            f"spacy package failed for {model_dir} (name {meta['name']!r}, version {meta['version']!r}); "
            "names must be Python identifiers"
        ) from None
    main_path = output_dir / f"{package_name}-{meta['version']}"
    dist = (main_path / "dist").resolve()
    artifacts: list[str] = []
    if "sdist" in formats:
        _run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)], main_path, "sdist")
    if "wheel" in formats:
        _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), "."],
            main_path,
            "wheel",
        )
    if dist.exists():
        artifacts = sorted(str(p) for p in dist.iterdir() if p.suffix in (".whl", ".gz"))
    return {"name": package_name, "version": meta["version"], "package_dir": str(main_path), "artifacts": artifacts}
