"""Augmentation kernels: the compiled Cython module, or its pure-Python twin.

The twin (:mod:`kdtext._fast._py`) is the executable specification. It is used only
when ``KDTEXT_NO_EXTENSIONS=1`` asks for it; a missing or broken build is an error,
never a silent fallback. ``IMPLEMENTATION`` says which one is in use.
"""

from __future__ import annotations

import os

if os.environ.get("KDTEXT_NO_EXTENSIONS", "") not in ("", "0"):
    from . import _py as _impl

    IMPLEMENTATION = "python"
else:
    try:
        from . import _kernels as _impl
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError(
            "kdtext's compiled kernels (kdtext._fast._kernels) are not built: reinstall with "
            "`pip install -e .` (needs a C compiler), or set KDTEXT_NO_EXTENSIONS=1 to use the "
            f"slow pure-Python twin. Cause: {exc}"
        ) from exc
    IMPLEMENTATION = "cython"

from ._common import *  # noqa: E402,F401,F403

uniform = _impl.uniform

__all__ = ["IMPLEMENTATION", "uniform"]
