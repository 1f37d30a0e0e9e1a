"""Pieces shared by both implementations (constants and argument checks)."""

from __future__ import annotations
