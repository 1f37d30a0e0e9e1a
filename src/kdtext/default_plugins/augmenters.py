"""Built-in plugin module (filled in by its issue)."""

from __future__ import annotations

from ..hookspecs import hookimpl  # noqa: F401
