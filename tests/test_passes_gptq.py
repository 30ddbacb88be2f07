"""GPTQ / SparseGPT compensation, unit pruning with compensation, and the real-coder rate."""
from __future__ import annotations

import numpy as np
import pytest

from host.coder import encode_levels
from host.passes.candidates import compensated_candidate, compensated_depthwise_candidate, uniform_candidate
from host.passes.gptq import compensated_levels, compensated_levels_channelwise, depthwise_factors, inverse_cholesky
from host.passes.rate import CoderRate, cbor_float_bytes, storable_scales
from host.passes.units import remove_groups


def _layer(seed: int = 0, rows: int = 24, d: int = 40, n: int = 2000):
    """Weights and correlated inputs (a few latent factors), like real layer inputs."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 6))
    x = latent @ rng.normal(size=(6, d)) + 0.3 * rng.normal(size=(n, d))
    x[:, 3] = 1.5  # an input that never varies
    w = rng.normal(0, 0.2, size=(rows, d))
    cov = np.cov(x.T, bias=True)
    return w, x, cov


def _output_error(w, q, x):
    xc = x - x.mean(axis=0)
    return float(np.mean(((w - q) @ xc.T) ** 2))


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_compensation_beats_rounding_on_the_output(bits):
    w, x, cov = _layer()
    upper, dead = inverse_cholesky(cov, 0.01)
    assert dead.tolist() == [i == 3 for i in range(w.shape[1])]
    plain = uniform_candidate(w, 0, bits)
    comp = compensated_candidate(w, 0, bits, upper, dead)
    assert np.abs(comp.encoding.levels).max() <= (1 << (bits - 1)) - 1
    assert np.all(comp.encoding.levels[:, 3] == 0)
    assert _output_error(w, comp.real(), x) < 0.7 * _output_error(w, plain.real(), x)


@pytest.mark.parametrize("bits", [3, 4])
def test_depthwise_compensation_beats_rounding_channel_by_channel(bits):
    """A 3x3 depthwise filter [1, 3, 3, c]: each channel compensated on its own patch covariance
    gives less output error than per-channel rounding, in all and in most channels (GPTQ is
    greedy: one channel in six may come out slightly worse), levels in range."""
    rng = np.random.default_rng(7)
    channels, n = 6, 3000
    w = rng.normal(0, 0.3, size=(1, 3, 3, channels))
    patches = []
    for _ in range(channels):  # neighbouring pixels of one channel are correlated
        latent = rng.normal(size=(n, 3))
        patches.append(latent @ rng.normal(size=(3, 9)) + 0.2 * rng.normal(size=(n, 9)))
    cov = np.stack([np.cov(p.T, bias=True) for p in patches])
    comp = compensated_depthwise_candidate(w, bits, *depthwise_factors(cov, channels, 0.01))
    plain = uniform_candidate(w, 3, bits)
    assert comp.data.shape == w.shape and comp.axis == 3 and comp.scale.shape == (channels,)
    assert np.abs(comp.encoding.levels).max() <= (1 << (bits - 1)) - 1
    rows = lambda a: np.moveaxis(a.reshape(9, channels), 1, 0)  # noqa: E731 - [c, 9] in (ky, kx) order
    ours = np.array([_output_error(rows(w)[j:j + 1], rows(comp.real())[j:j + 1], patches[j])
                     for j in range(channels)])
    rounded = np.array([_output_error(rows(w)[j:j + 1], rows(plain.real())[j:j + 1], patches[j])
                        for j in range(channels)])
    assert np.sum(ours <= rounded * (1 + 1e-9)) >= channels - 1, (ours, rounded)
    assert ours.sum() < 0.8 * rounded.sum(), (ours.sum(), rounded.sum())


def test_depthwise_compensation_with_a_depth_multiplier_uses_each_channels_input():
    """Depth multiplier 2: output channel j reads input channel j // 2, and is compensated on that
    channel's covariance (at the layer's steps, each channel is compensated_levels on it)."""
    rng = np.random.default_rng(11)
    w = rng.normal(0, 0.3, size=(1, 3, 3, 6))
    covs = []
    for _ in range(3):
        x = rng.normal(size=(800, 2)) @ rng.normal(size=(2, 9)) + 0.1 * rng.normal(size=(800, 9))
        covs.append(np.cov(x.T, bias=True))
    cov = np.stack(covs)
    both = compensated_depthwise_candidate(w, 3, *depthwise_factors(cov, 6, 0.01))
    delta = both.scale.astype(np.float64) * both.encoding.step
    for j in range(6):
        upper, dead = inverse_cholesky(cov[j // 2], 0.01)
        alone = compensated_levels(w[..., j].reshape(1, 9), delta[j:j + 1], upper, dead, 3)[0]
        assert np.array_equal(both.encoding.levels[..., j].reshape(9), alone), f"channel {j}"


def test_channelwise_compensation_is_each_row_on_its_own():
    """All rows at once give, without a rate weight, exactly what one compensated_levels call per
    row gives; a zero row stays zero, a dead input's weight is 0; with a rate weight the layer's
    levels cost fewer coded bytes."""
    rng = np.random.default_rng(3)
    rows, k = 8, 9
    w = rng.normal(0, 0.3, size=(rows, k))
    w[5] = 0.0
    covs = []
    for j in range(rows):
        x = rng.normal(size=(500, 3)) @ rng.normal(size=(3, k)) + 0.2 * rng.normal(size=(500, k))
        if j == 2:
            x[:, 4] = 0.0  # never varies
        covs.append(np.cov(x.T, bias=True))
    factors = [inverse_cholesky(c, 0.01) for c in covs]
    uppers, deads = np.stack([u for u, _ in factors]), np.stack([d for _, d in factors])
    delta = np.abs(w).max(axis=1) / 3 + (w == 0).all(axis=1)
    together = compensated_levels_channelwise(w, delta, uppers, deads, 3)
    apart = np.stack([compensated_levels(w[j:j + 1], delta[j:j + 1], uppers[j], deads[j], 3)[0] for j in range(rows)])
    assert np.array_equal(together, apart)
    assert not together[5].any() and together[2, 4] == 0
    rated = compensated_levels_channelwise(w, delta, uppers, deads, 3, 4.0)
    assert len(encode_levels(rated)) < len(encode_levels(together))


def test_rate_weight_trades_error_for_coded_bytes():
    w, x, cov = _layer(1, rows=64, d=64)
    upper, dead = inverse_cholesky(cov, 0.01)
    delta = np.abs(w).max(axis=1) / 3
    sizes, errors = [], []
    for lam in (0.0, 1.0, 4.0):
        levels = compensated_levels(w, delta, upper, dead, 3, lam)
        sizes.append(len(encode_levels(levels)))
        errors.append(_output_error(w, levels * delta[:, None], x))
    assert sizes[0] > sizes[1] > sizes[2]
    assert errors[0] < errors[2]


def test_sparsegpt_reaches_the_sparsity_and_beats_magnitude_pruning():
    w, x, cov = _layer(2)
    upper, dead = inverse_cholesky(cov, 0.01)
    delta = np.full(w.shape[0], 0.01)  # fine steps: pruning dominates the error
    levels = compensated_levels(w, delta, upper, dead, 8, 0.0, 0.6)
    assert np.mean(levels == 0) >= 0.6
    magnitude = np.where(np.abs(w) > np.quantile(np.abs(w), 0.6), w, 0.0)
    assert _output_error(w, levels * delta[:, None], x) < 0.5 * _output_error(w, magnitude, x)


def test_zero_rows_stay_zero():
    w, _, cov = _layer(3)
    w[5] = 0.0
    upper, dead = inverse_cholesky(cov, 0.01)
    levels = compensated_levels(w, np.full(w.shape[0], 0.05), upper, dead, 4, 0.5)
    assert not levels[5].any() and levels.any()


def test_group_removal_compensates():
    w, x, cov = _layer(4, rows=16, d=48)
    groups = np.arange(48) % 12
    new, removed = remove_groups(w, cov, groups, 6, damping=1e-3)
    assert len(set(removed)) == 6
    gone = np.isin(groups, removed)
    assert not new[:, gone].any()
    naive = np.where(gone[None, :], 0.0, w)
    assert _output_error(w, new, x) < 0.8 * _output_error(w, naive, x)


def test_coder_rate_is_the_real_coder_and_caches():
    rng = np.random.default_rng(5)
    levels = np.round(rng.laplace(0, 2, size=(30, 50))).astype(np.int32)
    rate = CoderRate()
    assert rate(levels) == 8 * len(encode_levels(levels))
    assert rate(levels) == rate(levels.copy())
    big = np.array([0, 40000, -5], dtype=np.int64)
    assert rate(big) == 32 * 3  # beyond the coder's range: raw int32
    assert rate(np.zeros(0, dtype=np.int32)) == 0.0


def test_storable_scales_round_up_onto_the_compact_grid():
    from host.container.metadata import compact_scales

    s = np.array([0.0123456, 3.3e-3, 0.9e-3, 0.02], dtype=np.float32)
    out = storable_scales(s)
    x, mantissas = compact_scales(out)  # one exponent, one byte per scale: exact
    assert np.array_equal(np.ldexp(np.frombuffer(mantissas, np.uint8).astype(np.float64), x), out)
    assert np.all(out >= s) and np.all(out <= s * (1 + 1 / 8))  # rounded up, never by more than 1/8
    assert np.all(out[[0, 3]] <= s[[0, 3]] * (1 + 1 / 64))  # channels near the largest: fine steps
    wide = np.array([0.5, 1e-4], dtype=np.float32)  # a 5000x span: exact float32 kept
    assert np.array_equal(storable_scales(wide), wide)




def test_one_step_for_the_whole_tensor():
    # Rows whose ranges differ 8x: with one step the narrow rows take few levels (fewer coded bytes
    # than per-channel steps at the same bits), every channel scale is the same float32 value (the
    # container stores it once: a byte per channel of side information less), and GPTQ still
    # compensates (less output error than rounding on that step).
    from host.graph import DType, Quantization, Tensor
    from host.passes.rate import side_bytes

    w, x, cov = _layer()
    w = w * np.repeat([1.0, 0.125], w.shape[0] // 2)[:, None]
    upper, dead = inverse_cholesky(cov, 0.01)
    shared = compensated_candidate(w, 0, 4, upper, dead, shared=True)
    per_channel = compensated_candidate(w, 0, 4, upper, dead)
    assert np.unique(shared.scale).size == 1 and np.unique(per_channel.scale).size > 1
    levels = shared.encoding.levels
    assert np.abs(levels).max() == 7 and np.abs(levels[w.shape[0] // 2:]).max() <= 2
    assert len(encode_levels(levels)) < 0.8 * len(encode_levels(per_channel.encoding.levels))
    step = float(shared.scale[0]) * shared.encoding.step
    rounded = np.clip(np.round(np.where(dead[None, :], 0.0, w) / step), -7, 7) * step
    assert _output_error(w, shared.real(), x) < _output_error(w, rounded, x)

    def tensor(cand):
        return Tensor("w", cand.data.shape, DType.INT8,
                      Quantization(cand.scale, np.zeros(cand.scale.size, dtype=np.int64), 0), cand.data,
                      encoding=cand.encoding)
    assert side_bytes(tensor(per_channel)) - side_bytes(tensor(shared)) >= w.shape[0] - 4
    depthwise = compensated_depthwise_candidate(
        np.moveaxis(w[:, :9].reshape(-1, 3, 3, 1), 0, 3), 4, *depthwise_factors(
            np.stack([cov[:9, :9]] * w.shape[0]), w.shape[0], 0.01), shared=True)
    assert np.unique(depthwise.scale).size == 1 and depthwise.axis == 3
