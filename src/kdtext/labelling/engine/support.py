"""What the engines share: whether Ray is here, the rate figures, and how a Ray worker and a Ray error are read."""

from __future__ import annotations

import os
import socket
from typing import Any, Iterator

from ...errors import KdtextError

RAY_INSTALL_HINT = "pip install 'kdtext[ray]'"


def ray_available() -> bool:
    """Whether Ray (with Ray Data) can be imported here."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None and importlib.util.find_spec("ray.data") is not None


def require_ray() -> Any:
    """The ``ray`` module, or a :class:`KdtextError` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise KdtextError(f"--engine ray needs Ray, which is not installed ({exc}): {RAY_INSTALL_HINT}") from None
    return ray


def rate(examples: int, seconds: float) -> float | None:
    """Examples per second, rounded, or None when nothing was timed."""
    return round(examples / seconds, 1) if seconds > 0 and examples else None


def worker_name() -> str:
    """``host:pid`` of this process: which Ray worker did a piece of work."""
    return f"{socket.gethostname()}:{os.getpid()}"


def error_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every error in its chain of causes and wrappers (a Ray task's error wraps the task's), once each."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend([item.__cause__, item.__context__, getattr(item, "cause", None)])


def kdtext_error_in(exc: BaseException) -> KdtextError | None:
    """The :class:`KdtextError` a Ray task raised, found in the chain of wrappers, if any."""
    return next((item for item in error_chain(exc) if isinstance(item, KdtextError)), None)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (Ray's errors carry whole tracebacks in their message)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
