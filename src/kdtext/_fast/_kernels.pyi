"""Type stubs of the compiled kernels; ``_py.py`` documents the behaviour."""

from typing import Any

import numpy as np

def uniform(seed: int, n: int) -> np.ndarray: ...
def derive_seed(seed: int, doc: int, rnd: int) -> int: ...
def hash_spans(words: Any, spaces: Any, offsets: Any) -> np.ndarray: ...
def augment_round(
    words: Any,
    spaces: Any,
    tags: Any,
    sent_starts: Any,
    doc_offsets: Any,
    docs: Any,
    doc_base: int,
    seed: int,
    rnd: int,
    mode: int,
    p_mask: float,
    p_pos: float,
    p_ng: float,
    n_min: int,
    n_max: int,
    mask_id: int,
    pos_offsets: Any,
    pos_words: Any,
    pos_cum: Any,
    doc_keys: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

class HashSet:
    def __init__(self, capacity: int = 1024) -> None: ...
    def __len__(self) -> int: ...
    def add_new(self, hashes: Any) -> np.ndarray: ...
def gather_rows(table_ids: Any, table_offsets: Any, rows: Any) -> tuple[np.ndarray, np.ndarray]: ...
