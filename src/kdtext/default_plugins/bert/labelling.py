"""Soft-label generation: tokenize (or take ids), skip what the cache knows, batch the rest.

:func:`label` is what ``BertTeacher.label`` runs; :func:`inference_model` picks the model
variant (PyTorch fp32/bf16/fp16, int8, ONNX Runtime) that labels. The order of the output always
equals the order of the input, whatever order the batches ran in.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
import warnings
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ...errors import ConfigError
from ...labelling import LabelResult
from ...labelling.cache import LabelCache, sequence_keys
from .device import resolve_device, use_all_cores
from ...labelling.validate import check_logits
from .inference import BatchedInference, default_batch_tokens

if TYPE_CHECKING:
    import torch


def encode_inputs(teacher: Any, texts: Any, ids: Any, with_special_tokens: bool = True) -> tuple[list[np.ndarray], int]:
    """``(sequences, n_truncated)``: the teacher's input ids for ``texts`` or ``ids`` (exactly one of them)."""
    if (texts is None) == (ids is None):
        raise ConfigError("label() takes texts or ids (one of them)")
    if texts is not None:
        if isinstance(texts, str):
            raise ConfigError("label() takes a list of texts, not one string")
        return teacher.encode(texts)
    return teacher.prepare_ids(ids, with_special_tokens=with_special_tokens)


def label(
    teacher: Any,
    texts: Sequence[str] | None = None,
    ids: Sequence[Sequence[int] | np.ndarray] | None = None,
    *,
    cache_dir: str | Path | None = None,
    batch_tokens: int | None = None,
    max_batch_size: int | None = None,
    device: Any = None,
    quantize: str | None = None,
    precision: str = "auto",
    backend: str | None = None,
    progress: bool | str = True,
    representations: bool = False,
    with_special_tokens: bool = True,
    flush_every: int = 4096,
    flush_seconds: float = 30.0,
) -> LabelResult:
    """Probabilities and logits (and, with ``representations``, the mean last hidden state over
    each example's tokens, from the same forward pass) for ``texts`` or pre-tokenized ``ids``
    (exactly one of them).

    ``teacher`` is a :class:`kdtext.default_plugins.bert.teacher.BertTeacher` (not imported here: bert
    imports this module). See :meth:`~kdtext.default_plugins.bert.teacher.BertTeacher.label` for the parameters.
    """
    started = time.perf_counter()
    seqs, n_truncated = encode_inputs(teacher, texts, ids, with_special_tokens)
    space = teacher.label_space
    assert space is not None
    n, k = len(seqs), len(space)
    torch_device = resolve_device(device if device is not None else teacher.params.get("device"))
    if torch_device.type == "cpu":
        use_all_cores(teacher.params.get("num_threads"))
    model, variant, autocast_dtype = teacher.inference_model(
        torch_device, quantize=quantize, precision=precision, backend=backend, n_examples=n
    )
    if batch_tokens is None:
        batch_tokens = teacher.params.get("batch_tokens") or (
            getattr(model, "default_batch_tokens", None) or default_batch_tokens(torch_device)
        )
    budget = int(batch_tokens)
    if budget < 1:
        raise ConfigError(f"batch_tokens must be a positive number of tokens, got {budget}")
    teacher_name = f"teacher {teacher.name!r}"

    def where(i: int) -> str:
        if texts is not None:
            text = texts[i]
            return f"example {i} ({text[:40] + '...' if len(text) > 40 else text!r})"
        return f"example {i}"

    logits = np.zeros((n, k), dtype=np.float32)
    # Identical inputs (common among synthetic examples) are computed once.
    keys = sequence_keys(seqs)
    if n:
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        first, inverse = np.zeros(0, np.int64), np.zeros(0, np.int64)
    known = np.zeros(len(first), dtype=bool)
    unique_logits = np.zeros((len(first), k), dtype=np.float32)
    dims = int(teacher.model.config.hidden_size) if representations else 0
    unique_reps = np.zeros((len(first), dims), dtype=np.float16) if representations else None
    cache = None
    if cache_dir is not None:
        # entries with representations live apart: a run that asks for them never finds an entry without
        namespace = f"{teacher.fingerprint()}-{variant}" + ("-representations" if representations else "")
        cache = teacher._caches.get((str(cache_dir), namespace))
        if cache is None:
            cache = teacher._caches[(str(cache_dir), namespace)] = LabelCache(cache_dir, namespace, k, representation_dims=dims)
        known, unique_logits, unique_reps = cache.lookup(keys[first])
    n_cached = int(np.count_nonzero(known[inverse])) if n else 0
    todo = np.flatnonzero(~known)
    runner = BatchedInference(
        model,
        torch_device,
        pad_id=teacher.pad_id,
        batch_tokens=budget,
        max_batch_size=max_batch_size,
        autocast_dtype=autocast_dtype,
        flush_every=flush_every,
        flush_seconds=flush_seconds,
        representations=representations,
    )

    def on_done(local: np.ndarray, out: np.ndarray, reps: np.ndarray | None) -> None:
        unique_rows = todo[local]
        check_logits(out, teacher=teacher_name, where=lambda j: where(int(first[unique_rows[j]])))
        unique_logits[unique_rows] = out
        if reps is not None:
            reps = reps.astype(np.float16)
            check_logits(reps, teacher=teacher_name, where=lambda j: where(int(first[unique_rows[j]])))
            unique_reps[unique_rows] = reps  # type: ignore[index]
        if cache is not None:
            cache.add(keys[first[unique_rows]], out, reps)

    bar = None
    todo_seqs = [seqs[int(first[u])] for u in todo]
    if progress and len(todo):
        # ``progress`` may be the bar's label (kdtext run labels two sets: synthetic examples, then unlabelled texts)
        bar = TokenPacedBar([len(s) for s in todo_seqs], progress if isinstance(progress, str) else "labelling")
    try:
        stats = runner.run(todo_seqs, on_done, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if n:
        logits = unique_logits[inverse]
    return LabelResult(
        probs=teacher.activation(logits),  # of finite logits (check_logits): checked again by the labelling path
        logits=logits,
        n_truncated=n_truncated,
        n_cached=n_cached,
        n_computed=int(len(todo)),
        seconds=time.perf_counter() - started,
        device=str(torch_device),
        variant=variant,
        batch_tokens=runner.batch_tokens,
        n_oom_halvings=stats.n_oom_halvings,
        padding_ratio=stats.padding_ratio,
        cached=known[inverse] if n else np.zeros(0, bool),
        representations=None if unique_reps is None else (unique_reps[inverse] if n else unique_reps[:0]),
    )


class TokenPacedBar:
    """The labelling bar: it counts examples, but its rate and ETA follow tokens.

    :class:`BatchedInference` runs the longest examples first, so examples/s rises all
    through a job and an ETA in examples ran about 2x long on the demo; a batch costs its
    tokens. The rate is tqdm's moving average of recent updates, so the slow first
    batches of a fresh ONNX session fade from the ETA too. ``update(n)`` takes examples.
    """

    def __init__(self, lengths: Sequence[int], desc: str):
        from tqdm.auto import tqdm

        ordered = np.sort(np.asarray(lengths, np.int64))[::-1]  # the order BatchedInference.run takes them in
        self._tokens = np.concatenate([[0], np.cumsum(ordered)])
        self._done = 0
        self._bar = tqdm(
            total=int(self._tokens[-1]), unit="tok", unit_scale=True, desc=desc, file=sys.stderr, dynamic_ncols=True, leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}, {rate_fmt}{postfix}]",
            postfix=f"0/{len(ordered):,} examples",
        )  # fmt: skip

    def update(self, n: int) -> None:
        before = self._tokens[self._done]
        self._done = min(self._done + int(n), len(self._tokens) - 1)
        self._bar.set_postfix_str(f"{self._done:,}/{len(self._tokens) - 1:,} examples", refresh=False)
        self._bar.update(int(self._tokens[self._done] - before))

    def close(self) -> None:
        self._bar.close()


def inference_model(
    teacher: Any,
    device: "torch.device",
    *,
    quantize: str | None = None,
    precision: str = "auto",
    backend: str | None = None,
    n_examples: int | None = None,
) -> tuple[Any, str, "torch.dtype | None"]:
    """:meth:`BertTeacher.inference_model <kdtext.default_plugins.bert.teacher.BertTeacher.inference_model>`:
    ``(model, variant, autocast dtype)`` for labelling with ``teacher`` on ``device``."""
    import torch

    from .ort import resolve_backend

    from ...labelling import PRECISIONS, QUANTIZATIONS, choices_text

    teacher._require_model()
    quantize = quantize if quantize is not None else teacher.params.get("quantize")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ConfigError(f"quantize must be {choices_text(QUANTIZATIONS)} or None, got {quantize!r}")
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be {choices_text(PRECISIONS)}, got {precision!r}")
    wanted = backend if backend is not None else teacher.params.get("backend")
    if device.type != "cpu" or precision not in ("auto", "fp32"):
        # ONNX Runtime serves fp32 on the CPU; anything else is PyTorch's.
        if wanted == "onnx":
            resolve_backend("onnx", device, quantize)  # says why not
            raise ConfigError(f"the onnx backend computes in fp32; precision {precision} needs --backend torch")
        wanted = "torch"
    if resolve_backend(wanted, device, quantize, n_examples) == "onnx":
        from .ort import cache_root, load_or_export

        threads = use_all_cores(teacher.params.get("num_threads"))
        key = f"{cache_root()}:{teacher.fingerprint()}:{threads}"  # changed weights: a new export
        try:
            if key not in teacher._onnx:
                teacher._onnx[key] = load_or_export(teacher, threads=threads, log=bool(teacher.params.get("progress", True)))
            return teacher._onnx[key], "onnx-fp32", None
        except Exception as exc:
            if wanted == "onnx":
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"kdtext: warning: no ONNX export of the teacher ({first}); labelling with PyTorch", file=sys.stderr)
            teacher.params["backend"] = "torch"  # once is enough
    if quantize == "int8":
        if device.type != "cpu":
            raise ConfigError(f"int8 quantization runs on the CPU only; use --device cpu (device {device} was chosen)")
        if teacher._quantized is None:
            import copy

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                base = copy.deepcopy(teacher.model).to("cpu").eval()
                teacher._quantized = torch.ao.quantization.quantize_dynamic(base, {torch.nn.Linear}, dtype=torch.qint8)
        return teacher._quantized, "int8", None
    teacher.model.to(device)
    teacher.model.eval()
    if device.type == "cpu" and precision == "bf16":
        return teacher.model, "bf16", torch.bfloat16
    if device.type != "cuda" or precision == "fp32":
        if precision == "fp16" and device.type != "cuda":
            raise ConfigError(f"precision fp16 is for CUDA; on {device} use fp32, bf16 or --quantize int8")
        return teacher.model, "fp32", None
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return teacher.model, precision, torch.bfloat16 if precision == "bf16" else torch.float16
