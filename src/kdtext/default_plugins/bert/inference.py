"""Batched forward passes: longest-first token-budget batches, out-of-memory back-off.

Sequences are sorted by length so that each batch is padded to nearly its members'
own length (this, not the batch size, is what makes labelling fast: see
``benchmarks/label.py``). A batch holds as many sequences as fit in ``batch_tokens``
tokens once padded, so short snippets travel in large batches and long documents in
small ones. Longest first: if memory runs out it does so at the start, not after an
hour. On CUDA out-of-memory the batch is halved (recursively) and the smaller budget
is kept for the rest of the job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ...errors import KdtextError

if TYPE_CHECKING:
    import torch

#: Default tokens per padded batch, by device type. CPU throughput is flat above a few
#: thousand tokens; GPUs want large batches (an H100 runs 64k tokens of BERT-base easily).
DEFAULT_BATCH_TOKENS = {"cpu": 8192, "cuda": 65536, "mps": 16384}


def default_batch_tokens(device: "torch.device") -> int:
    """The default token budget of one padded batch on ``device``."""
    return DEFAULT_BATCH_TOKENS.get(device.type, 8192)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA's out-of-memory error (and the RuntimeError older torch and MPS raise)."""
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def masked_mean(hidden: "torch.Tensor", attention_mask: "torch.Tensor | None") -> "torch.Tensor":
    """The mean of ``hidden`` ``(b, n, d)`` over each row's non-padding tokens (``attention_mask``
    ``(b, n)``; None: no padding), in the dtype of ``hidden``: a sentence representation."""
    if attention_mask is None:
        return hidden.mean(1)
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1)


def pad_batch(seqs: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(input_ids, attention_mask)`` int64 ``(b, longest)``; the mask is None when no row is padded."""
    lengths = [len(s) for s in seqs]
    longest = max(lengths)
    ids = np.full((len(seqs), longest), pad_id, dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
    if min(lengths) == longest:
        return ids, None  # no padding: attention needs no mask (a faster kernel path)
    mask = (np.arange(longest)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)
    return ids, mask


@dataclass
class InferenceStats:
    """What a run of :class:`BatchedInference` did."""

    n_examples: int = 0
    n_batches: int = 0
    n_oom_halvings: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    batch_tokens: int = 0
    seconds: float = 0.0

    @property
    def padding_ratio(self) -> float:
        """Padded tokens computed per real token (1.0 means no padding at all)."""
        return self.padded_tokens / self.real_tokens if self.real_tokens else 1.0


@dataclass
class BatchedInference:
    """Runs a sequence classifier over many id sequences in token-budget batches.

    ``model`` is called as ``model(input_ids=..., attention_mask=...)`` and must return
    an object with ``.logits`` (Hugging Face style), or have ``takes_numpy = True`` and an
    ``outputs(input_ids, attention_mask, representations)`` method over numpy arrays (the
    onnx backend). With ``representations``, the same forward pass also gives each
    sequence's sentence representation (:func:`masked_mean` of the last hidden states,
    float32). ``autocast_dtype`` (bf16/fp16 on CUDA, bf16 on the CPU) is used when given.
    Results reach ``on_done(indices, logits, representations or None)`` in flushes of
    about ``flush_every`` examples (or every ``flush_seconds`` seconds), indices being
    positions in the ``seqs`` given to :meth:`run`; GPU results stay on the device until
    a flush, so the host never waits on the GPU between batches.
    """

    model: Any
    device: "torch.device"
    pad_id: int
    batch_tokens: int
    max_batch_size: int | None = None
    autocast_dtype: "torch.dtype | None" = None
    flush_every: int = 4096
    flush_seconds: float = 30.0
    representations: bool = False
    stats: InferenceStats = field(default_factory=InferenceStats)

    def _forward(self, seqs: Sequence[np.ndarray]) -> "tuple[torch.Tensor, torch.Tensor | None]":
        import torch

        ids_np, mask_np = pad_batch(seqs, self.pad_id)
        if getattr(self.model, "takes_numpy", False):  # the onnx backend (kdtext.default_plugins.bert.ort)
            logits_np, reps_np = self.model.outputs(ids_np, mask_np, self.representations)
            return torch.from_numpy(logits_np), None if reps_np is None else torch.from_numpy(reps_np)
        ids = torch.from_numpy(ids_np)
        mask = None if mask_np is None else torch.from_numpy(mask_np)
        if self.device.type == "cuda":
            ids = ids.pin_memory().to(self.device, non_blocking=True)
            mask = None if mask is None else mask.pin_memory().to(self.device, non_blocking=True)
        elif self.device.type != "cpu":
            ids = ids.to(self.device)
            mask = None if mask is None else mask.to(self.device)
        with torch.inference_mode():
            if self.autocast_dtype is not None and self.device.type in ("cuda", "cpu"):
                with torch.autocast(self.device.type, dtype=self.autocast_dtype):
                    out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=self.representations)
            else:
                out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=self.representations)
            reps = masked_mean(out.hidden_states[-1].float(), mask) if self.representations else None
        return out.logits.float(), reps

    def _release_memory(self) -> None:
        import gc

        import torch

        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _forward_or_halve(
        self, seqs: Sequence[np.ndarray], index: np.ndarray
    ) -> list[tuple[np.ndarray, "tuple[torch.Tensor, torch.Tensor | None]"]]:
        try:
            return [(index, self._forward([seqs[i] for i in index]))]
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
        # Outside the except block, so the traceback's frames (and their tensors) are freed.
        longest = max(len(seqs[i]) for i in index)
        if len(index) == 1:
            raise KdtextError(
                f"out of memory on {self.device} labelling a single example of {longest} tokens; "
                "lower the teacher's max_length or use a device with more memory"
            )
        self._release_memory()
        self.stats.n_oom_halvings += 1
        self.batch_tokens = max(longest, (len(index) * longest) // 2)
        half = len(index) // 2
        return self._forward_or_halve(seqs, index[:half]) + self._forward_or_halve(seqs, index[half:])

    def run(
        self,
        seqs: Sequence[np.ndarray],
        on_done: Callable[[np.ndarray, np.ndarray, np.ndarray | None], None],
        progress: Any = None,
    ) -> InferenceStats:
        """Compute logits (and representations) for every sequence; ``progress`` is a tqdm bar (or None)."""
        import torch

        start_time = time.perf_counter()
        n = len(seqs)
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
        if n and lengths.min() < 1:
            raise KdtextError(f"example {int(np.argmin(lengths))} has no tokens at all")
        order = np.argsort(-lengths, kind="stable")
        pending: list[tuple[np.ndarray, tuple[torch.Tensor, torch.Tensor | None]]] = []
        n_pending = 0
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal pending, n_pending, last_flush
            if not pending:
                return
            index = np.concatenate([i for i, _ in pending])
            logits = torch.cat([t for _, (t, _) in pending]).cpu().numpy()
            reps = torch.cat([r for _, (_, r) in pending]).cpu().numpy() if self.representations else None
            pending, n_pending, last_flush = [], 0, time.monotonic()
            on_done(index, logits, reps)

        start = 0
        try:
            while start < n:
                longest = int(lengths[order[start]])
                size = max(1, self.batch_tokens // longest)
                if self.max_batch_size:
                    size = min(size, self.max_batch_size)
                index = order[start : start + size]
                for part_index, part in self._forward_or_halve(seqs, index):
                    pending.append((part_index, part))
                    self.stats.n_batches += 1
                    self.stats.padded_tokens += len(part_index) * int(lengths[part_index].max())
                self.stats.real_tokens += int(lengths[index].sum())
                start += len(index)
                n_pending += len(index)
                if progress is not None:
                    progress.update(len(index))
                if n_pending >= self.flush_every or time.monotonic() - last_flush >= self.flush_seconds:
                    flush()
        finally:
            # Whatever was computed before an interruption is handed over (and cached).
            try:
                flush()
            except Exception:
                if start >= n:
                    raise
        self.stats.n_examples += n
        self.stats.batch_tokens = self.batch_tokens
        self.stats.seconds += time.perf_counter() - start_time
        return self.stats
