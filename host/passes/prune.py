"""Magnitude pruning: unstructured (smallest |w| in the tensor) or per output channel.

Pruned weights become level 0 of whatever quantizer follows (every reconstruction rule maps
level 0 to int8 0), so pruning shows up as cheap significance flags in the coded stream.
`prune` chooses the sparsity of every layer under an accuracy budget with the same search
as the other passes (search.py), at 8 bits.
"""
from __future__ import annotations

import enum

import numpy as np


class PruneMode(enum.Enum):
    """UNSTRUCTURED: any weight; CHANNEL: whole output channels (smallest L2 norm first)."""

    UNSTRUCTURED = "unstructured"
    CHANNEL = "channel"


def magnitude_mask(w: np.ndarray, sparsity: float, mode: PruneMode = PruneMode.UNSTRUCTURED,
                   axis: int = 0) -> np.ndarray:
    """Boolean mask of the weights kept (True) when pruning a `sparsity` fraction of `w`.

    UNSTRUCTURED drops the floor(sparsity * size) smallest magnitudes (ties by position);
    CHANNEL drops the floor(sparsity * channels) output channels of least L2 norm along `axis`.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity {sparsity} outside [0, 1)")
    mask = np.ones(w.shape, dtype=bool)
    if sparsity == 0.0 or w.size == 0:
        return mask
    if mode is PruneMode.UNSTRUCTURED:
        count = int(np.floor(sparsity * w.size))
        order = np.argsort(np.abs(w).reshape(-1), kind="stable")[:count]
        mask.reshape(-1)[order] = False
        return mask
    channels = w.shape[axis]
    count = int(np.floor(sparsity * channels))
    norms = np.sqrt(np.sum(np.moveaxis(w, axis, 0).reshape(channels, -1).astype(np.float64) ** 2, axis=1))
    dropped = np.argsort(norms, kind="stable")[:count]
    index = [slice(None)] * w.ndim
    index[axis] = dropped
    mask[tuple(index)] = False
    return mask


def prune(graph, data, max_drop: float, mode: PruneMode = PruneMode.UNSTRUCTURED,
          sparsities: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95), **kwargs):
    """Prune int8 `graph` (8-bit levels kept) with per-layer sparsity chosen under `max_drop`.

    Returns (graph, engine.PassReport). Raises as `engine.run_pass`.
    """
    from host.passes.engine import SearchSpace, run_pass  # noqa: PLC0415 (engine imports this module)

    if mode is PruneMode.UNSTRUCTURED:
        space = SearchSpace(bits=(8,), sparsities=sparsities, codebook_bits=(), rdoq_lambdas=(0.0,), compensated_bits=())
    else:
        space = SearchSpace(bits=(8,), sparsities=(0.0,), channel_sparsities=tuple(s for s in sparsities if s),
                            codebook_bits=(), rdoq_lambdas=(0.0,), compensated_bits=())
    return run_pass(graph, data, max_drop, space, **kwargs)
