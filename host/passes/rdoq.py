"""Rate-distortion optimized quantization of one weight tensor: levels minimising D + lambda*R.

`rdoq_levels` (scalar, uniform reconstruction): each weight may take the level nearest to
it, the next one toward zero, or 0; the choice minimises (w - L*delta)^2 / delta^2 +
lambda * bits(L), with bits(L) = -log2 of the level's frequency (smoothed), re-estimated
from the chosen levels for a few rounds (the rate model of rate.py plugs in per level).

`trellis_levels` (dependent quantization, MPEG NNC's 8-state trellis): a Viterbi search over
the row-major scan for the levels whose reconstructions (docs/compression.md,
"DependentLevels") minimise the same cost; the result is a `DependentLevels` encoding.
"""
from __future__ import annotations

import numpy as np

from host.graph import DQ_STATE_TRANSITION, DependentLevels, dependent_step, uniform_max_level
from host.reference.fixed_point import round_half_away

_ROUNDS = 2


def _level_bits(levels: np.ndarray, max_level: int) -> np.ndarray:
    """Bits per level value -max..max from the smoothed frequencies of `levels`."""
    counts = np.bincount((levels.reshape(-1) + max_level).astype(np.int64), minlength=2 * max_level + 1)
    p = (counts + 0.5) / (counts.sum() + 0.5 * counts.size)
    return -np.log2(p)


def rdoq_levels(w: np.ndarray, delta: np.ndarray, bits: int, lam: float,
                mask: np.ndarray | None = None) -> np.ndarray:
    """Uniform levels of real weights `w` with per-element real step `delta` (broadcastable).

    `lam` weighs bits against squared error in units of delta^2; lam = 0 is plain rounding.
    Pruned weights (`mask` False) stay 0.
    """
    max_level = uniform_max_level(bits)
    u = np.asarray(w, dtype=np.float64) / delta
    nearest = np.clip(round_half_away(u), -max_level, max_level).astype(np.int64)
    if mask is not None:
        nearest = np.where(mask, nearest, 0)
    if lam <= 0:
        return nearest.astype(np.int32)
    toward = nearest - np.sign(nearest)
    candidates = np.stack([nearest, toward, np.zeros_like(nearest)])
    levels = nearest
    for _ in range(_ROUNDS):
        cost_bits = _level_bits(levels, max_level)
        cost = (u[None] - candidates) ** 2 + lam * cost_bits[candidates + max_level]
        levels = np.take_along_axis(candidates, np.argmin(cost, axis=0)[None], axis=0)[0]
    return levels.astype(np.int32)


def trellis_levels(w: np.ndarray, delta: np.ndarray, bits: int, lam: float = 0.0) -> DependentLevels:
    """Dependent-quantization levels of real weights `w` (row-major scan) by Viterbi search.

    `delta` (broadcastable to `w`) is the real value of one reconstruction unit: the int8
    weights are value * step with value = 2k - sign(k)*(state & 1), so delta = int8 scale * step.
    """
    max_level = uniform_max_level(bits)
    step = dependent_step(bits)
    u = (np.asarray(w, dtype=np.float64) / np.broadcast_to(delta, w.shape)).reshape(-1)
    n = u.size
    states = np.arange(8)
    odd = states & 1
    # Each next state has exactly two (state, parity) predecessors.
    pred_state = np.zeros((8, 2), dtype=np.int64)
    pred_parity = np.zeros((8, 2), dtype=np.int64)
    filled = np.zeros(8, dtype=np.int64)
    for s in range(8):
        for parity in (0, 1):
            ns = int(DQ_STATE_TRANSITION[s][parity])
            pred_state[ns, filled[ns]] = s
            pred_parity[ns, filled[ns]] = parity
            filled[ns] += 1
    cost = np.full(8, np.inf)
    cost[0] = 0.0
    back_state = np.zeros((n, 8), dtype=np.int8)
    back_level = np.zeros((n, 8), dtype=np.int32)

    def rate(k):
        return lam * ((k != 0) * 1.0 + np.abs(k) * 0.5)

    for i in range(n):
        target = u[i]
        half = (target + np.sign(target) * odd) / 2.0
        k_a = np.clip(np.floor(half), -max_level, max_level).astype(np.int64)
        k_b = np.clip(k_a + 1, -max_level, max_level)
        c_a = (target - (2 * k_a - np.sign(k_a) * odd)) ** 2 + rate(k_a)
        c_b = (target - (2 * k_b - np.sign(k_b) * odd)) ** 2 + rate(k_b)
        c_0 = target * target
        a_odd = (k_a & 1).astype(bool)
        # best level and cost per (state, parity)
        even_k = np.where(a_odd, k_b, k_a)
        even_c = np.where(a_odd, c_b, c_a)
        use_zero = c_0 < even_c
        even_k = np.where(use_zero, 0, even_k)
        even_c = np.where(use_zero, c_0, even_c)
        odd_k = np.where(a_odd, k_a, k_b)
        odd_c = np.where(a_odd, c_a, c_b)
        odd_c = np.where((odd_k & 1).astype(bool), odd_c, np.inf)
        level = np.stack([even_k, odd_k], axis=1)
        branch = cost[:, None] + np.stack([even_c, odd_c], axis=1)
        options = branch[pred_state, pred_parity]
        pick = np.argmin(options, axis=1)
        chosen_state = pred_state[states, pick]
        chosen_parity = pred_parity[states, pick]
        cost = options[states, pick]
        back_state[i] = chosen_state
        back_level[i] = level[chosen_state, chosen_parity]
    levels = np.empty(n, dtype=np.int32)
    state = int(np.argmin(cost))
    for i in range(n - 1, -1, -1):
        levels[i] = back_level[i, state]
        state = int(back_state[i, state])
    return DependentLevels(levels.reshape(w.shape), bits, step)


def apply_rdoq(graph, lam: float, dependent: bool = False):
    """Re-choose the levels of every uniformly encoded weight tensor by RDOQ (or the trellis).

    Keeps each tensor's bits and int8 scale; `lam` weighs rate against squared error in units
    of the quantization step squared. Pure: returns (new graph, (bytes before, bytes after)).
    Dependent quantization applies to tensors of at most 7 bits and changes their int8 scale
    to the trellis step; their biases are re-expressed at the new scale.
    """
    import dataclasses  # noqa: PLC0415

    from host.graph import Quantization, UniformLevels  # noqa: PLC0415
    from host.passes.rate import graph_bytes  # noqa: PLC0415
    from host.passes.rewrite import channel_axis, clone, weight_ops  # noqa: PLC0415

    out = clone(graph)
    for op_index in weight_ops(graph):
        op = graph.ops[op_index]
        t = graph.tensors[op.inputs[1]]
        enc = t.encoding
        if not isinstance(enc, UniformLevels):
            continue
        axis = channel_axis(op.kind.value)
        shape = [1] * t.data.ndim
        shape[axis] = -1
        scale = np.broadcast_to(t.quantization.scale, (t.shape[axis],)).astype(np.float64)
        real = t.data.astype(np.float64) * scale.reshape(shape)
        delta = (scale * enc.step).reshape(shape)
        if dependent and enc.bits <= 7:
            # Same reach as the uniform grid: one dependent unit is half a uniform step.
            new = trellis_levels(real, delta / 2.0, enc.bits, lam)
            new_scale = (scale * enc.step / 2.0 / new.step).astype(np.float32)
            out.tensors[op.inputs[1]] = dataclasses.replace(
                t, data=new.reconstruct(), encoding=new,
                quantization=Quantization(new_scale, np.zeros(new_scale.size, dtype=np.int64), axis))
            if len(op.inputs) > 2 and op.inputs[2] >= 0:
                b = graph.tensors[op.inputs[2]]
                in_scale = np.float32(graph.tensors[op.inputs[0]].quantization.scale[0])
                real_bias = b.data.astype(np.float64) * b.quantization.scale.astype(np.float64)
                new_bias_scale = (in_scale * new_scale).astype(np.float32)
                values = np.round(real_bias / new_bias_scale.astype(np.float64)).astype(np.int32)
                out.tensors[op.inputs[2]] = dataclasses.replace(
                    b, data=values, quantization=Quantization(new_bias_scale, np.zeros(values.size, dtype=np.int64)))
            continue
        levels = rdoq_levels(real, delta, enc.bits, lam)
        new_enc = UniformLevels(levels, enc.bits, enc.step)
        out.tensors[op.inputs[1]] = dataclasses.replace(t, data=new_enc.reconstruct(), encoding=new_enc)
    return out, (graph_bytes(graph).total, graph_bytes(out).total)
