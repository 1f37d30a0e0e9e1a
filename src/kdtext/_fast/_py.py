"""Pure-Python twin of ``_kernels.pyx``: same API, same outputs, the executable specification."""

from __future__ import annotations

import numpy as np

_MASK64 = (1 << 64) - 1


def splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def uniform(seed: int, n: int) -> np.ndarray:
    """``n`` floats in [0, 1) from SplitMix64 seeded with ``seed`` (53-bit precision)."""
    out = np.empty(n, dtype=np.float64)
    state = seed & _MASK64
    for i in range(n):
        state, z = splitmix64(state)
        out[i] = (z >> 11) * (1.0 / 9007199254740992.0)
    return out
