"""Helpers for the plugin-contract tests: a tiny task on disk, the example plugins importable, a prior-only student."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import kdtext
from teacher_fixtures import sentiment_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "plugins"


def import_example(package: str, module: str):
    """The module of an example plugin under ``plugins/``, imported from its file as ``example_<module>``.

    Its folder is not put on sys.path, so no entry point of an earlier install there is
    picked up by the plugin manager in this process.
    """
    import importlib.util

    name = f"example_{module}"
    if name not in sys.modules:
        folder = EXAMPLES / package / "src" / module
        # as a package, so that its relative imports (kdtext_sklearn's .runtime) work
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_task(root: Path, *, n_train: int = 40, n_dev: int = 20, n_test: int = 20) -> dict[str, Path]:
    """train/dev/test JSONL files of the keyword sentiment task under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, n, seed in (("train", n_train, 0), ("dev", n_dev, 1), ("test", n_test, 2)):
        ds = sentiment_data(n, seed=seed)
        files[name] = write_jsonl(root / f"{name}.jsonl", ({"text": t, "label": l} for t, l in zip(ds.texts, ds.gold_labels())))
    return files


def run_args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    """``kdtext run`` arguments for a small, fast run (mask augmenter, no word vectors)."""
    return [
        "run", "--train", str(files["train"]), "--dev", str(files["dev"]), "--test", str(files["test"]),
        "--augmenter", "mask", "--n-synthetic", "60", "--teacher-vectors", "0", "-o", str(out), *extra,
    ]  # fmt: skip


#: Python code that makes every later import of kdtext fail: run it first in a child process
#: to check that a packaged student loads without kdtext.
BLOCK_KDTEXT = """
import sys

class NoKdtext:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "kdtext":
            raise ImportError("kdtext is not installed here")
        return None

sys.meta_path.insert(0, NoKdtext())
"""


def wheel_requires(wheel: str | Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's METADATA."""
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    return [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]


class PriorStudent(kdtext.Student):
    """Predicts the label frequencies it was trained on (fast)."""

    def fit(self, train, dev, transfer=None, *, seed=0):
        self.label_space = train.label_space
        self.prior = (train.targets.sum(0) + 1) / (train.targets.sum() + len(train.label_space))
        return {"dev_metric": "accuracy", "best_dev_score": 0.5, "best_step": 1, "steps": 1, "train_seconds": 0.0}

    def predict_proba(self, texts):
        return np.tile(self.prior.astype(np.float32), (len(texts), 1))

    def save(self, path):
        Path(path).mkdir(parents=True, exist_ok=True)
        np.save(Path(path) / "prior.npy", self.prior)

    @classmethod
    def load(cls, path):
        student = cls()
        student.prior = np.load(Path(path) / "prior.npy")
        return student
