"""Error-compensating quantization and pruning of one weight layer (GPTQ / SparseGPT / OBS).

A layer's output error for a weight change dW is trace(dW C dW^T), C the covariance of its
input patches (layerstats.py; bias correction removes the mean part). Quantizing the input
columns of W one at a time and moving each column's error onto the columns not yet quantized
by the optimal-brain-surgeon update (Frantar et al., GPTQ, 2022; SparseGPT, 2023) keeps that
error far below plain rounding, which makes 2-4 bit weights and high sparsity usable without
retraining. With H = C + damping and U the upper Cholesky factor of H^-1, column j quantized
to q costs (w_j - q)^2 / U_jj^2 of output error, and the rows are updated by
W[:, j+1:] -= ((w_j - q) / U_jj) U[j, j+1:].

Rate-aware rounding (`lam` > 0): each weight takes the level among {nearest, one toward zero,
zero} that minimises (w - q*delta)^2 / U_jj^2 + lam * mean_sq * bits(q), where bits(q) is
-log2 of the level's smoothed frequency under plain rounding and mean_sq the mean column
cost of one step of error: levels the coder spends few bits on (zero, small) win ties.
SparseGPT pruning (`sparsity` > 0): per block of 128 columns the weights with the least
saliency w^2 / U_jj^2 (of the compensated weights) are zeroed, and their error compensated.
"""
from __future__ import annotations

import numpy as np

from host.graph import uniform_max_level
from host.reference.fixed_point import round_half_away

_BLOCK = 128


def inverse_cholesky(covariance: np.ndarray, damping: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(U, dead): U the upper Cholesky factor of (C + damping * mean(diag C) * I)^-1 for a
    [d, d] input covariance C, and `dead` the inputs that never vary (diag C == 0; their
    weights only shift the mean, which bias correction absorbs).
    """
    h = np.array(covariance, dtype=np.float64)
    diag = np.diag(h).copy()
    dead = diag <= 0
    h[dead, :] = 0.0
    h[:, dead] = 0.0
    mean_diag = float(np.mean(diag[~dead])) if np.any(~dead) else 1.0
    h[np.diag_indices_from(h)] += damping * mean_diag
    h[dead, dead] = mean_diag
    inv = np.linalg.inv(h)
    inv = (inv + inv.T) / 2.0
    return np.linalg.cholesky(inv).T.copy(), dead


def _level_bits(levels: np.ndarray, max_level: int) -> np.ndarray:
    counts = np.bincount((levels.reshape(-1) + max_level).astype(np.int64), minlength=2 * max_level + 1)
    p = (counts + 0.5) / (counts.sum() + 0.5 * counts.size)
    return -np.log2(p)


def _rate_aware(x: np.ndarray, q: np.ndarray, relative: np.ndarray | float, lam: float, cost_bits: np.ndarray,
                max_level: int) -> np.ndarray:
    """The level among {q, one toward zero, 0} minimising relative * (x - level)^2 + lam * bits(level),
    per element of `x` (weights in steps) and `q` (their nearest levels)."""
    cands = np.stack([q, q - np.sign(q), np.zeros_like(q)])
    cost = relative * (x[None] - cands) ** 2 + lam * cost_bits[(cands + max_level).astype(np.int64)]
    return np.take_along_axis(cands, np.argmin(cost, axis=0)[None], axis=0)[0]


def compensated_levels(w: np.ndarray, delta: np.ndarray, upper: np.ndarray, dead: np.ndarray, bits: int,
                       lam: float = 0.0, sparsity: float = 0.0) -> np.ndarray:
    """Levels [rows, d] of real weights `w` [rows, d] on per-row steps `delta` [rows] with
    GPTQ error compensation over the columns (input order), `upper` from `inverse_cholesky`.

    `lam` > 0 adds rate-aware rounding, `sparsity` in [0, 1) SparseGPT pruning (see module).
    Weights on `dead` inputs become 0. Levels satisfy |level| <= 2**(bits-1) - 1.
    """
    live = np.any(np.asarray(w) != 0, axis=1)
    if not np.all(live):  # rows of zeros (pruned units) stay zero
        out = np.zeros(np.shape(w), dtype=np.int32)
        if np.any(live):
            out[live] = compensated_levels(np.asarray(w)[live], np.asarray(delta).reshape(-1)[live], upper, dead,
                                           bits, lam, sparsity)
        return out
    max_level = uniform_max_level(bits)
    work = np.array(w, dtype=np.float64)
    work[:, dead] = 0.0
    rows, d = work.shape
    step = np.asarray(delta, dtype=np.float64).reshape(rows)
    levels = np.zeros((rows, d), dtype=np.int64)
    cost_bits = None
    relative = None
    if lam > 0:
        plain = np.clip(round_half_away(work / step[:, None]), -max_level, max_level).astype(np.int64)
        cost_bits = _level_bits(plain, max_level)
        # Output error of one step of error, relative to the mean over columns.
        relative = 1.0 / np.diag(upper) ** 2
        relative = relative / float(np.mean(relative))
    for b0 in range(0, d, _BLOCK):
        b1 = min(d, b0 + _BLOCK)
        block = work[:, b0:b1].copy()
        errors = np.zeros_like(block)
        u = upper[b0:b1, b0:b1]
        diag = np.diag(u)
        keep = None
        if sparsity > 0:
            saliency = block ** 2 / diag[None, :] ** 2
            count = int(round(saliency.size * sparsity))
            keep = np.ones_like(block, dtype=bool)
            if count > 0:
                cut = np.argpartition(saliency.reshape(-1), count - 1)[:count]
                keep.reshape(-1)[cut] = False
        for i in range(b1 - b0):
            col = block[:, i]
            u_ii = diag[i]
            x = col / step
            q = np.clip(round_half_away(x), -max_level, max_level)
            if cost_bits is not None:
                q = _rate_aware(x, q, relative[b0 + i], lam, cost_bits, max_level)
            if keep is not None:
                q = np.where(keep[:, i], q, 0.0)
            levels[:, b0 + i] = q.astype(np.int64)
            err = (col - q * step) / u_ii
            block[:, i:] -= err[:, None] * u[i, i:][None, :]
            errors[:, i] = err
        work[:, b1:] -= errors @ upper[b0:b1, b1:]
    levels[:, dead] = 0
    return levels.astype(np.int32)


def compensated_levels_channelwise(w: np.ndarray, delta: np.ndarray, uppers: np.ndarray, deads: np.ndarray,
                                   bits: int, lam: float = 0.0) -> np.ndarray:
    """Levels [c, k] of `c` independent rows (a depthwise layer's channels: row j's k weights only
    multiply input channel j), row j on step `delta[j]` with GPTQ compensation by its own
    `uppers[j]` [k, k] and `deads[j]` [k] (inverse_cholesky of its own covariance). Row by row
    the arithmetic of `compensated_levels`, all rows at once; with `lam` > 0 the rate model is
    the histogram of plain rounding over the whole layer, as for any other layer. Rows of zeros
    stay zero. Levels satisfy |level| <= 2**(bits-1) - 1.
    """
    max_level = uniform_max_level(bits)
    work = np.array(w, dtype=np.float64)
    work[deads] = 0.0
    rows, k = work.shape
    live = np.any(np.asarray(w) != 0, axis=1)
    step = np.where(live, np.asarray(delta, dtype=np.float64).reshape(rows), 1.0)
    diag = np.einsum("cii->ci", uppers)
    levels = np.zeros((rows, k), dtype=np.int64)
    cost_bits = relative = None
    if lam > 0:
        plain = np.clip(round_half_away(work[live] / step[live, None]), -max_level, max_level).astype(np.int64)
        cost_bits = _level_bits(plain, max_level)
        relative = 1.0 / diag ** 2
        relative = relative / np.mean(relative, axis=1, keepdims=True)
    for i in range(k):
        col = work[:, i]
        x = col / step
        q = np.clip(round_half_away(x), -max_level, max_level)
        if cost_bits is not None:
            q = _rate_aware(x, q, relative[:, i][None], lam, cost_bits, max_level)
        levels[:, i] = q.astype(np.int64)
        err = (col - q * step) / diag[:, i]
        work[:, i:] -= err[:, None] * uppers[:, i, i:]
    levels[deads] = 0
    levels[~live] = 0
    return levels.astype(np.int32)


def depthwise_sources(out_channels: int, in_channels: int) -> np.ndarray:
    """The input channel each output channel of a DEPTHWISE_CONV_2D reads: j // m, m the depth
    multiplier out_channels / in_channels."""
    return np.arange(out_channels) // (out_channels // in_channels)


def depthwise_factors(covariance: np.ndarray, channels: int, damping: float) -> tuple[np.ndarray, np.ndarray]:
    """(uppers [channels, k, k], deads [channels, k]) of a DEPTHWISE_CONV_2D layer with `channels`
    output channels: output channel j reads input channel j // m alone (m = channels / c_in, the
    depth multiplier), so its factor is inverse_cholesky of that channel's patch covariance
    (`covariance` [c_in, k, k], layerstats). Computed once per input channel."""
    factors = [inverse_cholesky(cov, damping) for cov in covariance]
    source = depthwise_sources(channels, covariance.shape[0])
    return np.stack([u for u, _ in factors])[source], np.stack([d for _, d in factors])[source]
