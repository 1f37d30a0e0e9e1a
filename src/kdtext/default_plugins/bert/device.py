"""Where the ``bert`` teacher runs: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as a ``torch.device``, and its CPU threads."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ...labelling import available_cores

if TYPE_CHECKING:
    import torch

DEVICE_HELP = "auto (CUDA when available), cpu, cuda or cuda:N"


def resolve_device(spec: "str | torch.device | None" = "auto") -> "torch.device":
    """A ``torch.device`` for a user's device string; one clear :class:`ConfigError` if unusable."""
    import torch

    if isinstance(spec, torch.device):
        spec = str(spec)
    text = (spec or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        index_text = text.partition(":")[2]
        if index_text and not index_text.isdigit():
            raise ConfigError(f"device {spec!r} is not valid; use {DEVICE_HELP}")
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA support" if torch.version.cuda is None else "no GPU is visible"
            raise ConfigError(f"device {spec!r} was requested, but CUDA is not available ({why}); use --device cpu or auto")
        index = int(index_text) if index_text else torch.cuda.current_device()
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"device {spec!r} was requested, but only {count} GPU(s) are visible (cuda:0 to cuda:{count - 1})")
        return torch.device("cuda", index)
    if text == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ConfigError("device 'mps' was requested, but Apple's MPS backend is not available here")
        return torch.device("mps")
    raise ConfigError(f"device {spec!r} is not valid; use {DEVICE_HELP}")


def use_all_cores(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads for CPU inference; returns the number in use.

    ``num_threads=None`` means every available core, unless ``OMP_NUM_THREADS`` is set
    (Ray and other schedulers set it to the slot's share), which is then respected.
    """
    import torch

    if num_threads is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        num_threads = available_cores()
    if num_threads < 1:
        raise ConfigError(f"num_threads must be at least 1, got {num_threads}")
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads
