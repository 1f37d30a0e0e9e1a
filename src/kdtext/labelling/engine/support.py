"""What both engines share: whether Ray is here, and the rate figures."""

from __future__ import annotations

from typing import Any

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
