"""Weight encodings: the reconstruction rules the device follows, their checks, RDOQ/trellis."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from host.errors import ModelError
from host.graph import (
    DQ_STATE_TRANSITION, CodebookLevels, DependentLevels, UniformLevels, check_encoding, validate,
)
from host.graph.encoding import require_consistent
from host.passes.cluster import codebook_levels, kmeans_1d
from host.passes.prune import PruneMode, magnitude_mask
from host.passes.rdoq import rdoq_levels, trellis_levels
from host.passes.rate import estimate_bits
from passes_models import tiny_cnn


def test_uniform_rule():
    enc = UniformLevels(np.array([[-7, 0, 3], [7, 1, -1]]), 4, 18)
    assert enc.reconstruct().tolist() == [[-126, 0, 54], [126, 18, -18]]
    assert check_encoding("w", enc.reconstruct(), enc) == []


def test_codebook_rule():
    enc = CodebookLevels(np.array([-1, 0, 2, 1]), 2, np.array([-40, 0, 25, 90], dtype=np.int8), 1)
    assert enc.reconstruct().tolist() == [-40, 0, 90, 25]


def test_dependent_rule_by_hand():
    # levels 1, 1, -2, 0, 3 from state 0:
    # k=1 s0: v=2 -> s=T[0][1]=2; k=1 s2: v=2 -> s=T[2][1]=3; k=-2 s3 (odd): v=-4+1=-3 -> T[3][0]=6;
    # k=0 s6: v=0 -> T[6][0]=3; k=3 s3 (odd): v=6-1=5
    enc = DependentLevels(np.array([1, 1, -2, 0, 3]), 3, 10)
    assert enc.reconstruct().tolist() == [20, 20, -30, 0, 50]
    assert DQ_STATE_TRANSITION.tolist() == [[0, 2], [7, 5], [1, 3], [6, 4], [2, 0], [5, 7], [3, 1], [4, 6]]


@pytest.mark.parametrize("enc,data,needle", [
    (UniformLevels(np.array([8]), 4, 18), np.array([0], dtype=np.int8), "|level|"),
    (UniformLevels(np.array([1]), 4, 19), np.array([19], dtype=np.int8), "reaches"),
    (UniformLevels(np.array([1, 2]), 4, 18), np.array([18, 37], dtype=np.int8), "flat index 1"),
    (CodebookLevels(np.array([0]), 2, np.array([-3, 4], dtype=np.int8), 0), np.array([0], dtype=np.int8), "no 0"),
    (CodebookLevels(np.array([2]), 2, np.array([0, 4], dtype=np.int8), 0), np.array([0], dtype=np.int8), "outside"),
    (DependentLevels(np.array([1]), 8, 1), np.array([2], dtype=np.int8), "bits"),
])
def test_inconsistent_encodings_are_reported(enc, data, needle):
    problems = check_encoding("w", data, enc)
    assert problems and needle in problems[0]
    with pytest.raises(ModelError):
        require_consistent("w", data, enc)


def test_validate_checks_encodings():
    g = tiny_cnn()
    w = g.tensors[g.ops[0].inputs[1]]
    w.encoding = UniformLevels(np.zeros(w.shape, dtype=np.int32), 8, 1)  # float data != levels
    with pytest.raises(ModelError, match="reconstruction differs"):
        validate(g)


def test_trellis_is_optimal_on_small_inputs():
    rng = np.random.default_rng(1)
    for _ in range(4):
        w = rng.normal(size=5) * 2
        enc = trellis_levels(w, np.ones(5), 3)
        got = np.sum((enc.reconstruct() / enc.step - w) ** 2)
        best = min(np.sum((DependentLevels(np.array(k), 3, enc.step).reconstruct() / enc.step - w) ** 2)
                   for k in itertools.product(range(-3, 4), repeat=5))
        assert got == pytest.approx(best)


def test_trellis_beats_scalar_quantization_at_equal_reach():
    w = np.random.default_rng(0).normal(size=3000)
    dq = trellis_levels(w, np.full(w.shape, 0.1), 6)
    dq_mse = np.mean((dq.reconstruct() / dq.step * 0.1 - w) ** 2)
    scalar_mse = np.mean((rdoq_levels(w, 0.2, 6, 0.0) * 0.2 - w) ** 2)
    assert dq_mse < 0.9 * scalar_mse


def test_rdoq_trades_distortion_for_rate():
    w = np.random.default_rng(2).normal(size=4000)
    plain = rdoq_levels(w, 0.25, 5, 0.0)
    rd = rdoq_levels(w, 0.25, 5, 2.0)
    assert estimate_bits(rd) < 0.95 * estimate_bits(plain)
    assert np.mean((rd * 0.25 - w) ** 2) > np.mean((plain * 0.25 - w) ** 2)
    assert np.all(np.abs(rd) <= np.abs(plain))


def test_kmeans_codebook_keeps_zero_and_fits_bits():
    values = np.concatenate([np.random.default_rng(3).normal(40, 3, 500), np.random.default_rng(4).normal(-60, 3, 500)])
    centroids = kmeans_1d(values, 3)
    assert 0.0 in centroids and np.any(np.abs(centroids - 40) < 2) and np.any(np.abs(centroids + 60) < 2)
    enc = codebook_levels(values, 2)
    assert enc.codebook.size <= 4 and enc.codebook[enc.zero_index] == 0
    assert check_encoding("w", enc.reconstruct(), enc) == []


def test_magnitude_masks():
    w = np.arange(-6, 6, dtype=np.float64).reshape(3, 4)
    mask = magnitude_mask(w, 0.5)
    assert mask.sum() == 6 and np.all(np.abs(w[~mask]) <= np.abs(w[mask]).min())
    channel = magnitude_mask(w, 0.34, PruneMode.CHANNEL, axis=0)
    assert channel.tolist() == [[True] * 4, [False] * 4, [True] * 4]
    with pytest.raises(ValueError):
        magnitude_mask(w, 1.0)
