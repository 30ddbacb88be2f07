"""General-purpose compressors and the order-0 entropy, on raw int8 level bytes.

These see the levels as bytes (one int8 per weight, tensors concatenated in model order)
and compress them as one stream with their strongest standard preset.
"""
from __future__ import annotations

import lzma
import zlib

import numpy as np

from bench.peers import PeerError


def level_bytes(levels: np.ndarray) -> bytes:
    """The levels as raw int8 bytes, in C order.

    Raises:
        PeerError: a level does not fit in int8.
    """
    levels = np.asarray(levels)
    if levels.size and (levels.min() < -128 or levels.max() > 127):
        raise PeerError("levels must fit in int8")
    return np.ascontiguousarray(levels, dtype=np.int8).tobytes()


def zlib_size(data: bytes) -> int:
    """Size of `data` compressed by zlib at level 9 (zlib format, with its 6-byte framing)."""
    return len(zlib.compress(data, 9))


def xz_size(data: bytes) -> int:
    """Size of `data` compressed by xz -9e (lzma preset 9 | PRESET_EXTREME, .xz format)."""
    return len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME))


def zstd_size(data: bytes) -> int:
    """Size of `data` compressed by zstd at level 19 (one frame).

    Raises:
        PeerError: the zstandard package is not installed.
    """
    try:
        import zstandard
    except ImportError as exc:
        raise PeerError("zstandard is not installed", hint="pip install zstandard") from exc
    return len(zstandard.ZstdCompressor(level=19).compress(data))


def entropy_bits(levels: np.ndarray) -> float:
    """Order-0 (memoryless) entropy of `levels`, in bits per symbol; 0.0 for an empty array."""
    levels = np.asarray(levels).ravel()
    if levels.size == 0:
        return 0.0
    _, counts = np.unique(levels, return_counts=True)
    p = counts / levels.size
    return float(-(p * np.log2(p)).sum())


def entropy_bytes(levels: np.ndarray) -> float:
    """Order-0 entropy of `levels` times their count, in bytes: the ideal size of a memoryless
    coder with a known distribution. NNCodec's published entropy figures sum this per tensor."""
    return entropy_bits(levels) * np.asarray(levels).size / 8.0
