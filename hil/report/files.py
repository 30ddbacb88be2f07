"""Atomic file writes for the reports."""
from __future__ import annotations

from pathlib import Path


def write_text_atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
