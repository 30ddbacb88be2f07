"""The rate estimate the passes optimise: ordering and closeness to the entropy."""
from __future__ import annotations

import numpy as np

from host.passes.rate import estimate_bits


def _entropy_bits(levels: np.ndarray) -> float:
    _, counts = np.unique(levels, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(counts * np.log2(p)))


def test_empty_and_constant():
    assert estimate_bits(np.array([], dtype=np.int32)) == 0.0
    assert estimate_bits(np.zeros(10000, dtype=np.int32)) < 20


def test_close_to_order0_entropy_for_iid_levels():
    rng = np.random.default_rng(0)
    for scale in (0.5, 2.0, 8.0):
        levels = np.round(rng.laplace(0, scale, 50000)).astype(np.int32)
        est, ent = estimate_bits(levels), _entropy_bits(levels)
        assert 0.97 * ent < est < 1.15 * ent, (scale, est, ent)


def test_sparser_and_narrower_levels_cost_less():
    rng = np.random.default_rng(1)
    levels = np.round(rng.normal(0, 10, 20000)).astype(np.int32)
    pruned = np.where(np.abs(levels) < 8, 0, levels)
    assert estimate_bits(pruned) < 0.75 * estimate_bits(levels)
    assert estimate_bits(levels // 4) < estimate_bits(levels)


def test_large_values_use_the_escape_code():
    big = np.full(100, 1 << 20, dtype=np.int64)
    assert 100 * 2 * 16 < estimate_bits(big) < 100 * 2 * 22
