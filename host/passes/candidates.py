"""Candidate encodings of one weight tensor: (pruning mask) x (uniform | codebook | dependent).

A `WeightCandidate` is a complete replacement of an int8 weight tensor: int8 values, their
per-channel int8 scale, and the encoding (levels + reconstruction rule) the device decodes.
Candidates are built from the real weights of the int8 model (int8 value x scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.graph import QuantizerKind, WeightEncoding, dependent_step, uniform_max_level, uniform_step
from host.graph.encoding import UniformLevels
from host.passes.cluster import codebook_levels
from host.passes.gptq import compensated_levels, compensated_levels_channelwise
from host.passes.quantizers import ClipMethod, channel_scales, uniform_levels
from host.passes.rate import storable_scales
from host.passes.rdoq import rdoq_levels, trellis_levels


@dataclass(eq=False)
class WeightCandidate:
    """int8 `data` at per-channel `scale` (axis `axis`), stored as `encoding`."""

    data: np.ndarray
    scale: np.ndarray
    axis: int
    encoding: WeightEncoding
    sparsity: float

    @property
    def bits(self) -> int:
        return self.encoding.bits

    @property
    def quantizer(self) -> QuantizerKind:
        return self.encoding.kind

    def real(self) -> np.ndarray:
        shape = [1] * self.data.ndim
        shape[self.axis] = -1
        return self.data.astype(np.float64) * self.scale.astype(np.float64).reshape(shape)


def _broadcast(values: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def uniform_candidates(w: np.ndarray, axis: int, bits: int, mask: np.ndarray | None = None,
                       lams: tuple[float, ...] = (0.0,), clip: ClipMethod = ClipMethod.MSE
                       ) -> list[WeightCandidate]:
    """Symmetric per-channel `bits`-bit levels, one candidate per RDOQ weight in `lams`
    (0 = plain rounding); the channel scales are chosen once and shared."""
    levels, scale, step = uniform_levels(w, axis, bits, clip if bits < 6 else ClipMethod.MINMAX, mask,
                                         half_scales=True)
    delta = _broadcast(scale.astype(np.float64) * step, w.ndim, axis)
    out = []
    for lam in lams:
        chosen = rdoq_levels(w, delta, bits, lam, mask) if lam > 0 else levels
        encoding = UniformLevels(chosen.astype(np.int32), bits, step)
        data = encoding.reconstruct()
        out.append(WeightCandidate(data, scale, axis, encoding, _sparsity(data)))
    return out


def uniform_candidate(w: np.ndarray, axis: int, bits: int, mask: np.ndarray | None = None,
                      lam: float = 0.0, clip: ClipMethod = ClipMethod.MSE) -> WeightCandidate:
    """One symmetric per-channel `bits`-bit candidate (RDOQ with weight `lam` when lam > 0)."""
    return uniform_candidates(w, axis, bits, mask, (lam,), clip)[0]


def codebook_candidate(w: np.ndarray, axis: int, int8_scale: np.ndarray, bits: int,
                       mask: np.ndarray | None = None) -> WeightCandidate:
    """k-means codebook of at most 2**bits int8 values over the weights at the int8 scales."""
    scale = storable_scales(int8_scale)
    normalized = np.asarray(w, dtype=np.float64) / _broadcast(scale.astype(np.float64), w.ndim, axis)
    encoding = codebook_levels(normalized, bits, mask)
    data = encoding.reconstruct()
    return WeightCandidate(data, scale, axis, encoding, _sparsity(data))


def dependent_candidate(w: np.ndarray, axis: int, bits: int, mask: np.ndarray | None = None,
                        lam: float = 0.0) -> WeightCandidate:
    """Trellis-coded (dependent) quantization at `bits` (levels |k| <= 2**(bits-1) - 1)."""
    max_value = 2 * uniform_max_level(bits)
    step = dependent_step(bits)
    s_unit = channel_scales(w, axis, max_value, ClipMethod.MINMAX, mask)
    scale = storable_scales(s_unit / step)
    delta = _broadcast(scale.astype(np.float64) * step, w.ndim, axis)
    target = np.asarray(w, dtype=np.float64) if mask is None else np.where(mask, w, 0.0)
    encoding = trellis_levels(target, delta, bits, lam)
    data = encoding.reconstruct()
    return WeightCandidate(data, scale, axis, encoding, _sparsity(data))


def keep_candidate(data: np.ndarray, scale: np.ndarray, axis: int) -> WeightCandidate:
    """The int8 weights as they are, as 8-bit uniform levels (step 1)."""
    encoding = UniformLevels(data.astype(np.int32), 8, uniform_step(8))
    return WeightCandidate(np.asarray(data, dtype=np.int8), scale.astype(np.float32), axis, encoding,
                           _sparsity(data))


def _sparsity(data: np.ndarray) -> float:
    return float(np.mean(data == 0)) if data.size else 0.0


def _compensation_grid(rows: np.ndarray, bits: int, clip: ClipMethod, kept: np.ndarray | None = None,
                       shared: bool = False) -> tuple[np.ndarray, int, np.ndarray]:
    """(int8 scale per row, int8 step, real step per row) of `bits`-bit levels for the rows'
    weights (`kept`: only those), the scales on the compact grid. `shared`: one real step for
    every row, set by the whole tensor's range (every row's scale the same float32 value, which
    the container stores once: model_format.pack.shared_quantization)."""
    step = uniform_step(bits)
    method = clip if bits < 6 else ClipMethod.MINMAX
    if shared:
        whole = channel_scales(rows.reshape(1, -1), 0, uniform_max_level(bits), method,
                               None if kept is None else kept.reshape(1, -1))
        scale = np.full(rows.shape[0], np.float32(whole[0] / step), dtype=np.float32)
    else:
        scale = storable_scales(channel_scales(rows, 0, uniform_max_level(bits), method, kept) / step)
    return scale, step, scale.astype(np.float64) * step


def compensated_candidate(w: np.ndarray, axis: int, bits: int, upper: np.ndarray, dead: np.ndarray,
                          lam: float = 0.0, sparsity: float = 0.0,
                          clip: ClipMethod = ClipMethod.MSE, shared: bool = False) -> WeightCandidate:
    """Per-channel `bits`-bit uniform levels by GPTQ error compensation (gptq.py), optionally
    rate-aware (`lam`) and SparseGPT-pruned (`sparsity`); `shared`: one step for the whole tensor
    (_compensation_grid). `w` has its output channels on axis 0 and its remaining axes in the
    order of the input covariance behind `upper` (FC, CONV_2D)."""
    if axis != 0:
        raise ValueError("compensated quantization needs output channels on axis 0")
    rows = np.asarray(w, dtype=np.float64).reshape(w.shape[0], -1)
    kept = None
    if sparsity > 0:  # the scale serves the weights that survive (largest OBS saliency)
        saliency = rows ** 2 / np.diag(upper)[None, :] ** 2
        count = int(round(saliency.size * sparsity))
        kept = saliency > np.partition(saliency.reshape(-1), count - 1)[count - 1] if count else None
    scale, step, delta = _compensation_grid(rows, bits, clip, kept, shared)
    levels = compensated_levels(rows, delta, upper, dead, bits, lam, sparsity).reshape(w.shape)
    encoding = UniformLevels(levels, bits, step)
    data = encoding.reconstruct()
    return WeightCandidate(data, scale, axis, encoding, _sparsity(data))


def compensated_depthwise_candidate(w: np.ndarray, bits: int, uppers: np.ndarray, deads: np.ndarray,
                                    lam: float = 0.0, clip: ClipMethod = ClipMethod.MSE,
                                    shared: bool = False) -> WeightCandidate:
    """Per-channel `bits`-bit uniform levels of a DEPTHWISE_CONV_2D filter `w` [1, kh, kw, c] by
    GPTQ error compensation within each channel: channel j's kh*kw weights are compensated by its
    own factor (`uppers`, `deads`: gptq.depthwise_factors) in gptq.compensated_levels_channelwise,
    rate-aware with `lam` > 0 (the rate model taken over the whole layer); `shared`: one step for
    the whole tensor."""
    channels = w.shape[-1]
    rows = np.moveaxis(np.asarray(w, dtype=np.float64).reshape(-1, channels), 1, 0)  # [c, kh*kw]
    scale, step, delta = _compensation_grid(rows, bits, clip, None, shared)
    levels = compensated_levels_channelwise(rows, delta, uppers, deads, bits, lam)
    encoding = UniformLevels(np.moveaxis(levels, 0, 1).reshape(w.shape), bits, step)
    data = encoding.reconstruct()
    return WeightCandidate(data, scale, 3, encoding, _sparsity(data))
