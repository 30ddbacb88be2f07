"""Data-aware low-rank factorization of fully-connected layers, before the search.

A FULLY_CONNECTED layer y = act(W x + b), W [o, d], becomes two FULLY_CONNECTED ops the device
already runs: m = V x (no bias, no activation; m is an int8 tensor of its own) and
y = act(U m + b'), with V = P^T W [r, d] and U = P [o, r], P the r leading eigenvectors of
W C W^T (C the covariance of the layer's input on the calibration data). U V = P P^T W is the
rank-r matrix closest to W in the layer's output error trace((W - W') C (W - W')^T), the
measure every other pass uses, so directions of x the data never excites cost nothing.
The mean output change goes into b' (bias correction). Both factors are stored at 8 bits
per channel; the search then quantizes and prunes each factor like any layer.

`choose_ranks` picks, layer by layer, the smallest rank whose int8 model keeps its score.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from host.graph import Activation, DType, FullyConnectedOptions, Graph, Op, OpKind, Quantization, Tensor
from host.passes.calibrate import activation_params
from host.passes.quantizers import uniform_levels
from host.passes.rewrite import add_tensor, clone, compact, weight_ops
from host.passes.units import _bias_real, _real_weights


@dataclass(frozen=True)
class RankChoice:
    """Layer `name` (op index `op_index` in the graph it was chosen in) factorized at `rank`."""

    op_index: int
    name: str
    rank: int


def factor_basis(w: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """The eigenvectors of W C W^T [o, o], columns by decreasing eigenvalue (output energy)."""
    w = np.asarray(w, dtype=np.float64)
    energy = w @ np.asarray(covariance, dtype=np.float64) @ w.T
    values, vectors = np.linalg.eigh((energy + energy.T) / 2)
    return vectors[:, np.argsort(values)[::-1]]


def candidate(graph: Graph, op_index: int) -> bool:
    """Whether op `op_index` can be factorized: a FULLY_CONNECTED layer on 2-D input with a
    constant weight and bias operand."""
    op = graph.ops[op_index]
    if op.kind is not OpKind.FULLY_CONNECTED or op.options.keep_num_dims or len(op.inputs) < 3 or op.inputs[2] < 0:
        return False
    return len(graph.tensors[op.inputs[0]].shape) == 2 and graph.tensors[op.inputs[1]].is_constant


def factor_layer(graph: Graph, op_index: int, inputs: np.ndarray, rank: int,
                 basis: np.ndarray | None = None) -> Graph:
    """`graph` (int8) with FULLY_CONNECTED op `op_index` replaced by two at `rank`.

    `inputs` [n, d] are the layer's real inputs on the calibration samples (they give C, the
    mean for bias correction, the balance of the two factors and the middle tensor's int8
    range); `basis` (factor_basis) may
    be passed to reuse it across ranks. Raises ValueError when the op cannot be factorized
    (`candidate`) or `rank` is not in 1..min(o, d).
    """
    if not candidate(graph, op_index):
        raise ValueError(f"{graph.describe_op(op_index)} is not a fully-connected layer with bias on 2-D input")
    op = graph.ops[op_index]
    w, _, _ = _real_weights(graph, op_index)
    o, d = w.shape
    if not 1 <= rank <= min(o, d):
        raise ValueError(f"rank {rank} outside 1..{min(o, d)}")
    x = np.asarray(inputs, dtype=np.float64).reshape(-1, d)
    mean = x.mean(axis=0)
    if basis is None:
        centred = x - mean
        basis = factor_basis(w, centred.T @ centred / max(1, len(x)))
    p = basis[:, :rank]
    # Balance the factors so that every middle component has unit variance: the middle tensor
    # has one int8 scale, and the weak components would otherwise drown in its rounding.
    spread = np.std(x @ (p.T @ w).T, axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    v_levels, v_scale, _ = uniform_levels((p.T @ w) / spread[:, None], 0, 8)
    u_levels, u_scale, _ = uniform_levels(p * spread[None, :], 0, 8)
    v_real = v_levels * v_scale[:, None].astype(np.float64)
    u_real = u_levels * u_scale[:, None].astype(np.float64)
    mid = x @ v_real.T
    mid_scale, mid_zero = activation_params(float(mid.min()), float(mid.max()))
    bias = _bias_real(graph, op_index) + (w - u_real @ v_real) @ mean
    bias_scale = (np.float32(mid_scale) * u_scale.astype(np.float32)).astype(np.float32)
    bias_q = np.clip(np.round(bias / bias_scale.astype(np.float64)), -(1 << 31), (1 << 31) - 1).astype(np.int32)

    g = clone(graph)
    name = g.tensors[op.inputs[1]].name
    out_t = g.tensors[op.outputs[0]]

    def per_channel(scale: np.ndarray) -> Quantization:
        return Quantization(scale, np.zeros(scale.size, dtype=np.int64), 0)

    v_index = add_tensor(g, Tensor(f"{name}/lowrank_a", (rank, d), DType.INT8, per_channel(v_scale),
                                   v_levels.astype(np.int8)))
    u_index = add_tensor(g, Tensor(f"{name}/lowrank_b", (o, rank), DType.INT8, per_channel(u_scale),
                                   u_levels.astype(np.int8)))
    mid_shape = tuple(out_t.shape[:-1]) + (rank,)
    mid_index = add_tensor(g, Tensor(f"{name}/lowrank_mid", mid_shape, DType.INT8,
                                     Quantization(np.array([mid_scale]), np.array([mid_zero]))))
    b_t = g.tensors[op.inputs[2]]
    g.tensors[op.inputs[2]] = dataclasses.replace(
        b_t, data=bias_q, dtype=DType.INT32, encoding=None,
        quantization=Quantization(bias_scale, np.zeros(o, dtype=np.int64), 0))
    first = Op(OpKind.FULLY_CONNECTED, (op.inputs[0], v_index), (mid_index,),
               FullyConnectedOptions(Activation.NONE, keep_num_dims=False))
    second = Op(OpKind.FULLY_CONNECTED, (mid_index, u_index, op.inputs[2]), op.outputs, op.options)
    g.ops[op_index:op_index + 1] = [first, second]
    return compact(g)


def rank_grid(o: int, d: int, fractions: tuple[float, ...], max_ratio: float = 0.5) -> list[int]:
    """Ranks (ascending, distinct) at `fractions` of min(o, d) whose two factors hold fewer than
    `max_ratio` times the layer's o * d weights."""
    ranks = {max(1, int(round(f * min(o, d)))) for f in fractions}
    return sorted(r for r in ranks if r * (o + d) < max_ratio * o * d)


def choose_ranks(graph: Graph, x: np.ndarray, score, floor: float, fractions: tuple[float, ...],
                 min_weights: int = 20000, progress=None) -> tuple[Graph, list[RankChoice]]:
    """Factorize each fully-connected layer of int8 `graph` with at least `min_weights` weights
    at the smallest rank of `rank_grid(fractions)` whose `score(graph)` stays >= `floor`
    (layers where no rank does stay as they are). `x` are the int8 samples the statistics
    come from. Returns the graph and the choices made.
    """
    from host.passes.execute import run_samples  # noqa: PLC0415

    current = graph
    chosen: list[RankChoice] = []
    names = [graph.tensors[graph.ops[k].inputs[1]].name for k in weight_ops(graph) if candidate(graph, k)]
    for k, name in enumerate(names):
        if progress is not None:
            progress(k, len(names))
        op_index = next(i for i in weight_ops(current) if current.tensors[current.ops[i].inputs[1]].name == name)
        op = current.ops[op_index]
        o, d = current.tensors[op.inputs[1]].shape
        if o * d < min_weights:
            continue
        trace = run_samples(current, x, keep={op.inputs[0]})
        in_scale, in_zero = current.tensors[op.inputs[0]].quantization.single()
        inputs = (trace.values[op.inputs[0]].astype(np.float64).reshape(-1, d) - in_zero) * np.float64(in_scale)
        centred = inputs - inputs.mean(axis=0)
        w, _, _ = _real_weights(current, op_index)
        basis = factor_basis(w, centred.T @ centred / max(1, len(inputs)))
        for rank in rank_grid(o, d, fractions):
            trial = factor_layer(current, op_index, inputs, rank, basis)
            if score(trial) >= floor:
                current = trial
                chosen.append(RankChoice(op_index, name, rank))
                break
    return current, chosen
