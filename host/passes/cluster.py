"""Weight clustering: a per-tensor codebook of int8 values found by k-means (Lloyd-Max).

The weights are clustered in their int8 domain (real value / per-channel int8 scale, so the
per-channel scales of the int8 model are kept): one codebook of at most 2**bits int8 values
per tensor, always containing 0 (pruned weights and level 0 rebuild to 0). Levels are the
codebook indices relative to the zero entry: int8 = codebook[level + zero_index].
"""
from __future__ import annotations

import numpy as np

from host.graph import CodebookLevels

_BINS = 2048


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 30, fixed_zero: bool = True) -> np.ndarray:
    """Centroids (sorted, float64) of 1-D k-means (Lloyd-Max) on `values`.

    With `fixed_zero` one centroid is pinned at 0 and k - 1 are free. Runs on a 2048-bin
    histogram of the values, initialised at quantiles.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    free = k - 1 if fixed_zero else k
    if values.size == 0 or free <= 0:
        return np.zeros(1)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.unique(np.array([0.0, lo])) if fixed_zero else np.array([lo])
    counts, edges = np.histogram(values, bins=_BINS, range=(lo, hi))
    centers = (edges[:-1] + edges[1:]) / 2
    occupied = counts > 0
    centers, counts = centers[occupied], counts[occupied].astype(np.float64)
    cdf = np.cumsum(counts) / counts.sum()
    centroids = np.interp((np.arange(free) + 0.5) / free, cdf, centers)
    for _ in range(iterations):
        points = np.concatenate(([0.0], centroids)) if fixed_zero else centroids
        order = np.argsort(points)
        ordered = points[order]
        assign = order[np.searchsorted((ordered[:-1] + ordered[1:]) / 2.0, centers)]
        moved = centroids.copy()
        for j in range(free):
            member = assign == (j + 1 if fixed_zero else j)
            if member.any():
                moved[j] = np.sum(centers[member] * counts[member]) / counts[member].sum()
        if np.allclose(moved, centroids):
            break
        centroids = moved
    points = np.concatenate(([0.0], centroids)) if fixed_zero else centroids
    return np.sort(points)


def codebook_levels(normalized: np.ndarray, bits: int, mask: np.ndarray | None = None) -> CodebookLevels:
    """Cluster int8-domain weights `normalized` (real / int8 scale) into a `bits`-bit codebook.

    Weights outside `mask` (pruned) get level 0; the others the nearest codebook entry.
    """
    kept = normalized if mask is None else normalized[mask]
    centroids = kmeans_1d(kept[kept != 0] if kept.size else kept, 1 << bits)
    book = np.unique(np.clip(np.round(centroids), -127, 127).astype(np.int64))
    if 0 not in book:
        book = np.unique(np.concatenate((book, [0])))
    zero_index = int(np.flatnonzero(book == 0)[0])
    midpoints = (book[:-1] + book[1:]) / 2.0
    nearest = np.searchsorted(midpoints, normalized.reshape(-1), side="left").reshape(normalized.shape)
    levels = nearest - zero_index
    if mask is not None:
        levels = np.where(mask, levels, 0)
    return CodebookLevels(levels.astype(np.int32), bits, book.astype(np.int8), zero_index)


def cluster(graph, data, max_drop: float, bits: tuple[int, ...] = (1, 2, 3, 4, 5, 6), **kwargs):
    """Replace each int8 weight tensor by a k-means codebook, its size chosen under `max_drop`.

    Returns (graph, engine.PassReport). Raises as `engine.run_pass`.
    """
    from host.passes.engine import SearchSpace, run_pass  # noqa: PLC0415 (engine imports this module)

    space = SearchSpace(bits=(), sparsities=(0.0,), codebook_bits=bits, rdoq_lambdas=(0.0,), compensated_bits=())
    return run_pass(graph, data, max_drop, space, **kwargs)
