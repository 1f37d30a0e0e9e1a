"""The ``onnx`` labelling backend: the teacher exported to ONNX and run by ONNX Runtime on the CPU.

Why: on the CPU a small encoder spends much of its time between the matrix products
(layer norms, GELU, reshapes, attention's softmax), and ONNX Runtime's transformer
optimizer fuses those into a few kernels (``EmbedLayerNormalization``, ``Attention``,
``SkipLayerNormalization``, ``BiasGelu``). The numbers stay fp32: the logits agree with
PyTorch's to about 1e-6 (``benchmarks/label.py`` measures it, and every export is
checked against PyTorch on a probe batch before it is used). The graph has a second output,
``representations``: the mean of the last hidden states over each example's non-padding
tokens (what ``label(..., representations=True)`` returns), from the same forward pass and
checked against PyTorch the same way; a job that does not ask for it does not fetch it.

The export is made once per teacher and cached by the teacher's fingerprint (which
hashes its weights, config and max length), so a rerun, another run with the same
teacher, or another stage of the same run only loads it:
``<root>/<fingerprint>/model.onnx`` beside ``export.json`` (what was exported, with
which versions, and the probe's largest differences). ``<root>`` is ``KDTEXT_ONNX_CACHE`` if
set, else ``onnx/`` in kdtext's cache folder (:func:`kdtext.plugins.cache_dir`:
``KDTEXT_CACHE_DIR``, else ``$XDG_CACHE_HOME/kdtext``, else ``~/.cache/kdtext``).

Needs ``onnxruntime`` and ``onnx`` (the exporter writes through it); without them the
``auto`` backend is PyTorch, and asking for ``onnx`` says what to install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ConfigError, ModelError
from ...io import make_temp_dir, read_json, replace_directory, write_json
from ...labelling import BACKENDS, choices_text

if TYPE_CHECKING:
    import torch

#: ``auto`` exports only for jobs this large: the one-time export (about 10 s for MiniLM on
#: two cores) costs about what PyTorch needs for a few hundred examples.
AUTO_MIN_EXAMPLES = 1000
#: Default tokens per padded batch for ONNX Runtime: its fused kernels are as fast on
#: 4k-token batches as on 8k, and smaller batches pad less.
DEFAULT_BATCH_TOKENS = 4096
#: 2: the graph also outputs ``representations`` (an export of format 1 is made again).
EXPORT_FORMAT = 2
OPSET = 17
#: Largest |logit difference| between ONNX Runtime and PyTorch on the probe batch for an export to be used.
PROBE_TOLERANCE = 1e-3
#: Model types whose graphs ONNX Runtime's ``bert`` optimizer knows how to fuse.
FUSABLE_TYPES = {"bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "mpnet"}


def onnx_available() -> bool:
    """True when both ``onnxruntime`` and ``onnx`` can be imported."""
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def resolve_backend(
    backend: str | None, device: "torch.device", quantize: str | None = None, n_examples: int | None = None
) -> str:
    """``torch`` or ``onnx`` for a requested backend on ``device``; one :class:`ConfigError` if impossible.

    ``auto`` picks ONNX Runtime on the CPU (when installed) for jobs of at least
    :data:`AUTO_MIN_EXAMPLES` examples (``n_examples=None``: a large job), and PyTorch
    elsewhere; int8 quantization is PyTorch's, so ``auto`` with ``quantize`` is PyTorch too.
    """
    text = (backend or "auto").strip().lower()
    if text not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use {choices_text(BACKENDS)}")
    if text == "auto":
        large = n_examples is None or n_examples >= AUTO_MIN_EXAMPLES
        return "onnx" if device.type == "cpu" and quantize is None and large and onnx_available() else "torch"
    if text == "onnx":
        if device.type != "cpu":
            raise ConfigError(f"the onnx backend runs on the CPU; on {device} use --backend torch (or auto)")
        if quantize is not None:
            raise ConfigError("--quantize int8 is PyTorch's dynamic quantization; use it with --backend torch")
        if not onnx_available():
            raise ConfigError("the onnx backend needs onnxruntime and onnx: pip install onnxruntime onnx (or use --backend torch)")
    return text


def cache_root() -> Path:
    """Where exported models are kept: ``KDTEXT_ONNX_CACHE``, else ``onnx/`` in kdtext's cache folder."""
    from ...plugins import cache_dir

    env = os.environ.get("KDTEXT_ONNX_CACHE")
    return Path(env).expanduser() if env else cache_dir() / "onnx"


class OnnxClassifier:
    """An ONNX Runtime session with the call :class:`~kdtext.default_plugins.bert.inference.BatchedInference` needs.

    ``outputs(input_ids, attention_mask, representations)`` takes int64 numpy arrays
    ``(b, n)`` and returns float32 logits ``(b, n_labels)`` and, when asked, float32
    representations ``(b, hidden)`` (else None).
    """

    takes_numpy = True
    default_batch_tokens = DEFAULT_BATCH_TOKENS

    def __init__(self, path: Path, threads: int, info: dict[str, Any]):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.path = path
        self.info = info
        self.threads = threads

    def outputs(
        self, input_ids: np.ndarray, attention_mask: np.ndarray | None, representations: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if attention_mask is None:
            attention_mask = np.ones_like(input_ids)
        feed = {"input_ids": input_ids.astype(np.int64, copy=False), "attention_mask": attention_mask.astype(np.int64, copy=False)}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        got = self.session.run(["logits", "representations"] if representations else ["logits"], feed)
        logits = np.asarray(got[0], dtype=np.float32)
        return logits, np.asarray(got[1], dtype=np.float32) if representations else None


def _probe_batch(teacher: Any) -> tuple[np.ndarray, np.ndarray]:
    """A small padded batch of varied lengths (real tokens of the vocabulary) to check an export with."""
    rng = np.random.default_rng(0)
    prefix, suffix = teacher._special_tokens()
    vocab = len(teacher.tokenizer)
    special = set(getattr(teacher.tokenizer, "all_special_ids", []))
    candidates = [i for i in range(min(vocab, 30000)) if i not in special]
    # BERT's first ids are [unused] slots: real words come later in a large vocabulary
    pool = np.array((candidates[1000:] if len(candidates) > 2000 else candidates) or [0], dtype=np.int64)
    limit = max(4, min(int(teacher.max_length or 32), 40))
    lengths = [limit, max(3, limit // 2), 3, max(3, limit - 5)]
    seqs = [np.concatenate([prefix, rng.choice(pool, n - len(prefix) - len(suffix)), suffix]).astype(np.int64) for n in lengths]
    from .inference import pad_batch

    ids, mask = pad_batch(seqs, teacher.pad_id)
    return ids, (mask if mask is not None else np.ones_like(ids))


def _torch_outputs(model: Any, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's logits and mean last hidden states of ``model`` (in eval mode) on one batch: what the export must give."""
    import torch

    from .inference import masked_mean

    attention = torch.from_numpy(mask)
    with torch.inference_mode():
        out = model(input_ids=torch.from_numpy(ids), attention_mask=attention, output_hidden_states=True)
        return out.logits.float().numpy(), masked_mean(out.hidden_states[-1].float(), attention).numpy()


def _graph(model: Any) -> Any:
    """``model`` as the module that is exported: ``(input_ids, attention_mask) -> (logits, representations)``."""
    import torch

    from .inference import masked_mean

    class Outputs(torch.nn.Module):
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.logits, masked_mean(out.hidden_states[-1], attention_mask)

    return Outputs(model)


def _export(teacher: Any, folder: Path) -> dict[str, Any]:
    """Export ``teacher.model`` to ``folder/model.onnx`` (optimized where the optimizer can); returns what was done."""
    import copy

    import torch

    started = time.perf_counter()
    model = copy.deepcopy(teacher.model).to("cpu").float().eval()
    # The eager attention graph is the one ONNX Runtime's optimizer recognises and fuses
    # into its Attention kernel; the SDPA graph exports too but stays unfused.
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation("eager")
        except Exception:  # an architecture with one attention implementation only
            pass
    ids, mask = _probe_batch(teacher)
    raw = folder / "raw.onnx"
    graph = _graph(model)
    # torch.onnx.export puts the module back in the mode it found it in, and a new Module is in
    # training mode: eval before and after, or dropout would make PyTorch disagree with the export.
    graph.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (torch.from_numpy(ids), torch.from_numpy(mask)),
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits", "representations"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                "logits": {0: "batch"}, "representations": {0: "batch"},
            },  # fmt: skip
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: offline, seconds, and the graph the optimizer knows
        )
    graph.eval()
    info: dict[str, Any] = {"export_seconds": round(time.perf_counter() - started, 2), "optimized": False, "fused": {}}
    config = model.config
    target = folder / "model.onnx"
    model_type = getattr(config, "model_type", "")
    if model_type in FUSABLE_TYPES:
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            with warnings.catch_warnings(), _quiet_logging():
                warnings.simplefilter("ignore")
                optimized = optimize_model(
                    str(raw),
                    model_type="bert",
                    num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
                    hidden_size=int(getattr(config, "hidden_size", 0) or 0),
                )
                optimized.save_model_to_file(str(target))
            info["optimized"] = True
            info["fused"] = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
        except Exception as exc:  # the plain export still runs, only slower
            info["optimizer_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if not info["optimized"]:
        shutil.copyfile(raw, target)
    raw.unlink()
    info["seconds"] = round(time.perf_counter() - started, 2)
    # Every output checked against PyTorch before anything is labelled with it.
    session = OnnxClassifier(target, 1, info)
    got = session.outputs(ids, mask, representations=True)
    want = _torch_outputs(model, ids, mask)
    for name, key, mine, theirs in zip(("logit", "representation"), ("probe_max_logit_diff", "probe_max_representation_diff"), got, want):
        diff = float(np.max(np.abs(mine - theirs))) if mine is not None and mine.shape == theirs.shape else float("inf")
        info[key] = diff
        if not diff <= PROBE_TOLERANCE:
            raise ModelError(
                f"the ONNX export of the teacher disagrees with PyTorch (largest {name} difference {diff:.3g} on a probe batch); "
                "use --backend torch"
            )
    return info


class _quiet_logging:
    """Silences the ``onnxruntime.transformers`` optimizer's log lines while it runs."""

    def __enter__(self) -> None:
        import logging

        self.logger = logging.getLogger("onnxruntime.transformers")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)
        root = logging.getLogger()
        self.root_level = root.level
        root.setLevel(logging.ERROR)

    def __exit__(self, *exc: Any) -> None:
        import logging

        self.logger.setLevel(self.level)
        logging.getLogger().setLevel(self.root_level)


def load_or_export(teacher: Any, *, threads: int, log: bool = True) -> OnnxClassifier:
    """The teacher's ONNX Runtime classifier: loaded from the export cache, or exported (once) and cached.

    The folder is assembled under a temporary name and renamed into place, so a killed
    export leaves nothing that a later run would trust.
    """
    import onnxruntime
    import torch

    fingerprint = teacher.fingerprint()
    folder = cache_root() / fingerprint
    meta_path = folder / "export.json"
    if meta_path.is_file() and (folder / "model.onnx").is_file():
        try:
            info = read_json(meta_path)
            if info.get("format") == EXPORT_FORMAT and info.get("fingerprint") == fingerprint:
                return OnnxClassifier(folder / "model.onnx", threads, {**info, "cached": True})
        except Exception:  # a damaged export is made again
            pass
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = make_temp_dir(folder.parent / fingerprint)
    except OSError as exc:
        raise ConfigError(f"{folder.parent}: cannot write the ONNX export here ({exc.strerror}); set KDTEXT_CACHE_DIR (or KDTEXT_ONNX_CACHE) or use --backend torch") from None
    if log:
        print(f"kdtext: exporting the teacher to ONNX (once per teacher) -> {folder}", file=sys.stderr)
    try:
        info = _export(teacher, tmp)
        info.update(
            {
                "format": EXPORT_FORMAT,
                "fingerprint": fingerprint,
                "opset": OPSET,
                "torch": torch.__version__,
                "onnxruntime": onnxruntime.__version__,
                "model_type": getattr(teacher.model.config, "model_type", None),
            }
        )
        write_json(tmp / "export.json", info)
        try:
            replace_directory(tmp, folder)
        except OSError:
            if not (folder / "model.onnx").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another worker put the same export in place first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return OnnxClassifier(folder / "model.onnx", threads, {**info, "cached": False})
