"""Unit pruning with compensation: remove whole output channels (hidden units) of a layer.

A producer layer P (FULLY_CONNECTED or CONV_2D) whose output reaches exactly one consumer
layer C (FULLY_CONNECTED or CONV_2D) through channel-preserving ops only (MAX_POOL_2D,
AVERAGE_POOL_2D, RESHAPE) feeds C's input columns in groups, one group per channel of P
(column i of C's input patch belongs to channel i mod channels(P)). Removing group g from C
optimally (optimal brain surgeon for a group, as SparseGPT does for single weights) changes
C's weights by  dW = -W[:, g] (Hinv[g, g])^-1 Hinv[g, :]  at a cost of
trace(W[:, g] (Hinv[g, g])^-1 W[:, g]^T) of C's output error, Hinv the inverse of C's damped
input covariance. Groups are removed greedily, cheapest first, updating Hinv by the same
formula; C's bias absorbs the mean change. The channels of P that C no longer reads are then
free: their weights and bias become 0, so the coder spends almost nothing on them and the
channel is constant (it cannot matter: nobody reads it).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from host.graph import DType, Graph, OpKind, Quantization
from host.passes.layerstats import output_shift
from host.passes.quantizers import uniform_levels
from host.passes.rewrite import channel_axis, clone, weight_ops

_PASS_THROUGH = (OpKind.MAX_POOL_2D, OpKind.AVERAGE_POOL_2D, OpKind.RESHAPE)
_LAYERS = (OpKind.FULLY_CONNECTED, OpKind.CONV_2D)


@dataclass(frozen=True)
class UnitPair:
    """Producer op `producer` whose `channels` output channels only consumer op `consumer` reads."""

    producer: int
    consumer: int
    channels: int


def _consumers(graph: Graph, tensor: int) -> list[int]:
    return [k for k, op in enumerate(graph.ops) if tensor in op.inputs]


def unit_pairs(graph: Graph) -> list[UnitPair]:
    """Every producer/consumer pair of the graph that unit pruning can work on."""
    pairs = []
    for p in weight_ops(graph):
        op = graph.ops[p]
        if op.kind not in _LAYERS:
            continue
        channels = graph.tensors[op.inputs[1]].shape[0]
        tensor = op.outputs[0]
        while True:
            if tensor in graph.outputs:
                break
            users = _consumers(graph, tensor)
            if len(users) != 1:
                break
            user = graph.ops[users[0]]
            if user.kind in _PASS_THROUGH and user.inputs[0] == tensor:
                tensor = user.outputs[0]
                continue
            if user.kind in _LAYERS and user.inputs[0] == tensor:
                columns = int(np.prod(graph.tensors[user.inputs[1]].shape[1:]))
                if columns % channels == 0:
                    pairs.append(UnitPair(p, users[0], channels))
            break
    return pairs


def remove_groups(w: np.ndarray, covariance: np.ndarray, groups: np.ndarray, count: int,
                  damping: float = 0.01) -> tuple[np.ndarray, list[int]]:
    """Remove `count` column groups of `w` [rows, d] (group of column i: groups[i]) by greedy
    group OBS with compensation. Returns (new weights, removed group ids in removal order)."""
    w = np.array(w, dtype=np.float64)
    h = np.array(covariance, dtype=np.float64)
    d = h.shape[0]
    mean_diag = float(np.mean(np.diag(h))) or 1.0
    hinv = np.linalg.inv(h + damping * mean_diag * np.eye(d))
    ids = np.unique(groups)
    members = {int(g): np.flatnonzero(groups == g) for g in ids}
    alive = set(members)
    removed: list[int] = []
    for _ in range(min(count, len(ids))):
        best, best_cost = None, np.inf
        for g in alive:
            cols = members[g]
            block = np.linalg.inv(hinv[np.ix_(cols, cols)])
            wg = w[:, cols]
            cost = float(np.sum((wg @ block) * wg))
            if cost < best_cost:
                best, best_cost = g, cost
        cols = members[best]
        block = np.linalg.inv(hinv[np.ix_(cols, cols)])
        w -= (w[:, cols] @ block) @ hinv[cols, :]
        w[:, cols] = 0.0
        hinv -= hinv[:, cols] @ block @ hinv[cols, :]
        hinv[cols, :] = 0.0
        hinv[:, cols] = 0.0
        alive.discard(best)
        removed.append(best)
    return w, removed


def _real_weights(graph: Graph, op_index: int) -> tuple[np.ndarray, np.ndarray, int]:
    op = graph.ops[op_index]
    t = graph.tensors[op.inputs[1]]
    axis = channel_axis(op.kind.value)
    scale = np.broadcast_to(t.quantization.scale, (t.shape[axis],)).astype(np.float64)
    shape = [1] * t.data.ndim
    shape[axis] = -1
    return t.data.astype(np.float64) * scale.reshape(shape), scale, axis


def _bias_real(graph: Graph, op_index: int) -> np.ndarray:
    op = graph.ops[op_index]
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        raise ValueError(f"{graph.describe_op(op_index)} has no bias")
    b = graph.tensors[op.inputs[2]]
    return b.data.astype(np.float64) * np.broadcast_to(b.quantization.scale, b.data.shape).astype(np.float64)


def _store(g: Graph, op_index: int, real: np.ndarray, bias_real: np.ndarray) -> None:
    """Re-quantize op `op_index`'s weights (8-bit per channel) and bias from real values."""
    op = g.ops[op_index]
    w_t = g.tensors[op.inputs[1]]
    axis = channel_axis(op.kind.value)
    levels, scale, _ = uniform_levels(real, axis, 8)
    in_scale = np.float32(g.tensors[op.inputs[0]].quantization.scale[0])
    g.tensors[op.inputs[1]] = dataclasses.replace(
        w_t, data=levels.astype(np.int8), encoding=None,
        quantization=Quantization(scale, np.zeros(scale.size, dtype=np.int64), axis))
    b_t = g.tensors[op.inputs[2]]
    bias_scale = (in_scale * scale).astype(np.float32)
    values = np.clip(np.round(bias_real / bias_scale.astype(np.float64)), -(1 << 31), (1 << 31) - 1)
    g.tensors[op.inputs[2]] = dataclasses.replace(
        b_t, data=values.astype(np.int32), dtype=DType.INT32,
        quantization=Quantization(bias_scale, np.zeros(values.size, dtype=np.int64), 0))


def prune_units(graph: Graph, pair: UnitPair, covariance: np.ndarray, mean_input: np.ndarray,
                count: int, damping: float = 0.01) -> Graph:
    """`graph` (int8) with `count` channels of `pair.producer` removed and `pair.consumer`
    compensated. `covariance` [d, d] and `mean_input` are the consumer's input statistics
    (layerstats.LayerStats). Raises ValueError for a layer without bias."""
    g = clone(graph)
    w_c, _, _ = _real_weights(graph, pair.consumer)
    rows = w_c.reshape(w_c.shape[0], -1)
    groups = np.arange(rows.shape[1]) % pair.channels
    new_rows, removed = remove_groups(rows, covariance, groups, count, damping)
    new_w = new_rows.reshape(w_c.shape)
    shift = output_shift(graph, pair.consumer, new_w - w_c, mean_input)
    _store(g, pair.consumer, new_w, _bias_real(graph, pair.consumer) - shift)
    w_p, _, axis_p = _real_weights(graph, pair.producer)
    bias_p = _bias_real(graph, pair.producer).copy()
    index = [slice(None)] * w_p.ndim
    index[axis_p] = removed
    w_p = w_p.copy()
    w_p[tuple(index)] = 0.0
    bias_p[removed] = 0.0
    _store(g, pair.producer, w_p, bias_p)
    return g


def choose_units(graph: Graph, x: np.ndarray, score, floor: float, fractions: tuple[float, ...],
                 damping: float = 0.01, progress=None) -> tuple[Graph, list[tuple[UnitPair, int]]]:
    """Prune each producer/consumer pair of int8 `graph` by the largest of `fractions` (of the
    producer's channels) whose `score(graph)` stays >= `floor`, pair after pair.

    `x` are the (int8) samples the statistics come from. Returns the graph and, per pair
    pruned, how many channels went.
    """
    from host.passes.execute import run_samples  # noqa: PLC0415
    from host.passes.layerstats import layer_stats  # noqa: PLC0415

    current = graph
    done: list[tuple[UnitPair, int]] = []
    pairs = unit_pairs(graph)
    for k, pair in enumerate(pairs):
        if progress is not None:
            progress(k, len(pairs))
        op = current.ops[pair.consumer]
        trace = run_samples(current, x, keep={op.inputs[0]})
        in_scale, in_zero = current.tensors[op.inputs[0]].quantization.single()
        inputs = (trace.values[op.inputs[0]].astype(np.float64) - in_zero) * np.float64(in_scale)
        stats = layer_stats(current, pair.consumer, inputs)
        for fraction in sorted(fractions, reverse=True):
            count = int(round(fraction * pair.channels))
            if count <= 0 or count >= pair.channels:
                continue
            trial = prune_units(current, pair, stats.covariance, stats.mean_input, count, damping)
            if score(trial) >= floor:
                current = trial
                done.append((pair, count))
                break
    return current, done
