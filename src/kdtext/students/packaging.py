"""Export a trained student as a pip-installable package.

A spaCy student (``Student.is_spacy_pipeline``) becomes a spaCy pipeline package:
spaCy's own ``spacy package`` lays out the package (``setup.py``, ``meta.json``, the
pipeline as package data). Saved students name spaCy's stock text categorizer, so the
package requires spaCy alone: no kdtext, torch or transformers in production. The sdist
and wheel are then built with the setuptools and pip already installed, without build
isolation, so no network is needed.

Any other student becomes a plain Python package holding the saved folder, built the
same way. If the student declares how to run without kdtext (``Student.runtime_module``
and ``Student.runtime_requires``), the package holds a copy of that module's source, its
``load()`` returns a small classifier over it, and it requires ``runtime_requires`` and
nothing else: a small scikit-learn model needs no kdtext and no PyTorch in production.
Otherwise ``load()`` returns the student through :func:`kdtext.students.load_student`, and
the package requires kdtext and the plugin's distribution.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError, KdtextError, ModelError
from ..io import read_json, write_text
from .metadata import read_student_meta

BUILD_FORMATS = ("sdist", "wheel")


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise KdtextError(f"building the {what} failed (exit code {result.returncode}): {' / '.join(tail)}")


def _build(main_path: Path, formats: set[str]) -> list[str]:
    """Build the sdist and/or wheel of the package laid out in ``main_path`` into its ``dist/``; the built files."""
    dist = (main_path / "dist").resolve()
    if "sdist" in formats:
        _run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)], main_path, "sdist")
    if "wheel" in formats:
        _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), "."],
            main_path,
            "wheel",
        )
    return sorted(str(p) for p in dist.iterdir() if p.suffix in (".whl", ".gz")) if dist.exists() else []


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
    from ..plugins import get_student

    model_dir, output_dir = Path(model_dir), Path(output_dir)
    student_meta = read_student_meta(model_dir)  # a kdtext student, not any directory
    formats = {part.strip() for part in build.split(",") if part.strip()}
    if formats == {"none"}:
        formats = set()
    unknown = formats - set(BUILD_FORMATS)
    if unknown:
        raise ConfigError(f"--build takes sdist, wheel or none, got {build!r}")
    student_class = get_student(str(student_meta.get("student")))
    if not student_class.is_spacy_pipeline:
        return _package_plain(
            model_dir, output_dir, student_meta, runtime=_runtime_of(student_class, str(student_meta.get("student"))),
            name=name, version=version, formats=formats, force=force,
        )  # fmt: skip
    from spacy.cli.package import package as spacy_package

    try:
        meta = read_json(model_dir / "meta.json")
    except (OSError, KdtextError) as exc:
        raise ModelError(f"{model_dir}: no readable spaCy meta.json ({exc})") from None
    if name is not None:
        meta["name"] = name
    if version is not None:
        meta["version"] = version
    package_name = meta["name"] if meta["name"].startswith(f"{meta['lang']}_") else f"{meta['lang']}_{meta['name']}"
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / model_dir.name
        shutil.copytree(model_dir, copy)
        code = student_class.prepare_spacy_package(copy)
        try:
            spacy_package(
                copy, output_dir, name=name, version=version, code_paths=[Path(p) for p in code],
                create_sdist=False, create_wheel=False, force=force, silent=True, require_parent=True,
            )  # fmt: skip
        except SystemExit:  # spaCy's CLI helpers exit on errors; its message was suppressed
            main_path = output_dir / f"{package_name}-{meta['version']}"
            if (main_path / package_name).exists() and not force:
                raise KdtextError(f"{main_path}: the package directory already exists; use --force to overwrite it") from None
            raise KdtextError(
                f"spacy package failed for {model_dir} (name {meta['name']!r}, version {meta['version']!r}); "
                "names must be Python identifiers"
            ) from None
    main_path = output_dir / f"{package_name}-{meta['version']}"
    artifacts = _build(main_path, formats)
    return {
        "name": package_name, "version": meta["version"], "package_dir": str(main_path), "artifacts": artifacts,
        "load": f"spacy.load({package_name!r})",
    }  # fmt: skip

_SETUP_PY = """import os
from setuptools import setup

files = [os.path.relpath(os.path.join(root, name), {package!r}) for root, _, names in os.walk({model!r}) for name in names]
setup(
    name={package!r},
    version={version!r},
    description={description!r},
    packages=[{package!r}],
    package_data={{{package!r}: files}},
    install_requires={requires!r},
)
"""

_INIT_PY = '''"""{description}"""

from pathlib import Path

#: The saved student (with kdtext_student.json).
MODEL_DIR = Path(__file__).parent / "model"


def load():
    """The student, as ``kdtext.students.load_student`` reads it (its plugin must be installed)."""
    from kdtext.students import load_student

    return load_student(MODEL_DIR)
'''


_RUNTIME_INIT_PY = '''"""{description}

Runs without kdtext: ``load()`` reads the model with the student's own inference module
(``_runtime.py``), which needs {requires}.
"""

from pathlib import Path

#: The saved student (with kdtext_student.json).
MODEL_DIR = Path(__file__).parent / "model"
#: The labels, in the order of ``predict_proba``'s columns.
LABELS = {labels!r}
#: True if a text may have several labels (``predict`` then gives a list per text).
MULTILABEL = {multilabel!r}


class Classifier:
    """The student's model with its label names."""

    def __init__(self, model):
        self.model = model
        self.labels = LABELS
        self.multilabel = MULTILABEL

    def predict_proba(self, texts):
        """Probabilities, one row per text, one column per label of ``labels``."""
        return self.model.predict_proba(list(texts))

    def predict(self, texts):
        """The label of each text (multi-label: the list of its labels of probability 0.5 or more)."""
        probs = self.predict_proba(texts)
        if self.multilabel:
            return [[label for label, p in zip(LABELS, row) if p >= 0.5] for row in probs]
        return [LABELS[int(row.argmax())] for row in probs]


def load():
    """The student as a :class:`Classifier`, loaded without kdtext."""
    from . import _runtime

    return Classifier(_runtime.load(MODEL_DIR))
'''


def _runtime_of(student_class: Any, name: str) -> tuple[list[str], Path] | None:
    """``(requirements, source file)`` of a student that runs without kdtext, or None; checks the declaration."""
    import ast
    import importlib
    import inspect

    requires, module_name = student_class.runtime_requires, student_class.runtime_module
    if requires is None and module_name is None:
        return None
    if requires is None or not module_name:
        raise ConfigError(f"student {name!r}: set both runtime_requires and runtime_module, or neither")
    if isinstance(requires, str) or not all(isinstance(r, str) for r in requires):
        raise ConfigError(f"student {name!r}: runtime_requires must be a list of requirement strings, got {requires!r}")
    from packaging.requirements import InvalidRequirement, Requirement

    for requirement in requires:
        try:
            project = Requirement(requirement).name
        except InvalidRequirement as exc:
            raise ConfigError(f"student {name!r}: runtime_requires has an invalid requirement {requirement!r} ({exc})") from None
        if re.sub(r"[-_.]+", "-", project).lower() == "kdtext":
            raise ConfigError(f"student {name!r}: runtime_requires lists kdtext; the point of it is a package without kdtext")
    try:
        source = Path(inspect.getsourcefile(importlib.import_module(module_name)) or "")
    except (ImportError, TypeError) as exc:
        raise ConfigError(f"student {name!r}: runtime_module {module_name!r} cannot be imported ({exc})") from None
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    for node in ast.walk(tree):
        imported = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise ConfigError(f"{source}:{node.lineno}: runtime_module {module_name!r} imports relatively, but it is copied alone")
            imported = [node.module or ""]
        if any(module.split(".")[0] == "kdtext" for module in imported):
            raise ConfigError(f"{source}:{node.lineno}: runtime_module {module_name!r} imports kdtext, which its package must run without")
    if not any(isinstance(node, ast.FunctionDef) and node.name == "load" for node in tree.body):
        raise ConfigError(f"{source}: runtime_module {module_name!r} defines no load(path)")
    return list(requires), source


def _package_plain(
    model_dir: Path, output_dir: Path, meta: dict[str, Any], *, runtime: tuple[list[str], Path] | None,
    name: str | None, version: str | None, formats: set[str], force: bool,
) -> dict[str, Any]:  # fmt: skip
    """A Python package holding the student folder, with ``load()``; for students that are not spaCy pipelines."""
    student = str(meta["student"])
    package_name = name or "kdtext_" + re.sub(r"\W", "_", student)
    if not package_name.isidentifier():
        raise KdtextError(f"package name {package_name!r} must be a Python identifier")
    version = version or "1.0.0"
    main_path = output_dir / f"{package_name}-{version}"
    if main_path.exists():
        if not force:
            raise KdtextError(f"{main_path}: the package directory already exists; use --force to overwrite it")
        shutil.rmtree(main_path)
    plugin = meta.get("plugin") or {}
    labels = list(meta["label_space"].get("labels", []))
    description = f"kdtext {student} student: {', '.join(labels)}"
    (main_path / package_name).mkdir(parents=True)
    shutil.copytree(model_dir, main_path / package_name / "model")
    if runtime is None:
        requires = ["kdtext"] + ([plugin["distribution"]] if plugin.get("distribution") not in (None, "kdtext", "unknown") else [])
        init = _INIT_PY.format(description=description)
    else:
        requires, source = runtime
        shutil.copyfile(source, main_path / package_name / "_runtime.py")
        init = _RUNTIME_INIT_PY.format(
            description=description, requires=", ".join(requires) or "nothing but Python",
            labels=tuple(labels), multilabel=bool(meta["label_space"].get("multilabel", False)),
        )  # fmt: skip
    write_text(main_path / package_name / "__init__.py", init)
    write_text(
        main_path / "setup.py",
        _SETUP_PY.format(package=package_name, model=f"{package_name}/model", version=version, description=description, requires=requires),
    )
    write_text(main_path / "MANIFEST.in", f"recursive-include {package_name}/model *\n")
    artifacts = _build(main_path, formats)
    return {
        "name": package_name, "version": version, "package_dir": str(main_path), "artifacts": artifacts,
        "load": f"import {package_name}; {package_name}.load()",
    }  # fmt: skip
