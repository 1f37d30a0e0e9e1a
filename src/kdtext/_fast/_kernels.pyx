# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled augmentation kernels; ``_py.py`` is their pure-Python twin and specification."""

from libc.stdint cimport uint64_t

import numpy as np


cdef inline uint64_t splitmix64_next(uint64_t* state) noexcept nogil:
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline double next_double(uint64_t* state) noexcept nogil:
    return (splitmix64_next(state) >> 11) * (1.0 / 9007199254740992.0)


def uniform(seed, Py_ssize_t n):
    """``n`` floats in [0, 1) from SplitMix64 seeded with ``seed`` (53-bit precision)."""
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] view = out
    cdef uint64_t state = <uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF)
    cdef Py_ssize_t i
    with nogil:
        for i in range(n):
            view[i] = next_double(&state)
    return out
