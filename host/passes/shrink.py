"""Structural removal of dead hidden units: the graph gets smaller, not just sparser.

For a producer layer P (FULLY_CONNECTED or CONV_2D) whose output reaches exactly one consumer
layer C (FULLY_CONNECTED or CONV_2D) directly or through MAX_POOL_2D / AVERAGE_POOL_2D (the
pairs of units.py without a RESHAPE between them), output channel j of P is removed when
- C never reads it (C's weights on channel j are all 0: what units.py leaves), or
- it is constant: P's weights of channel j are all 0, so the channel's int8 value is the
  quantized act(bias_j) for every input; C's bias absorbs C's weights on it times that value
  (exact up to the int32 rounding of the bias), and pooling a constant gives the constant.
The channel then disappears from P's weights, bias and scales, from the tensors between P and
C, and from C's input columns. Only shapes change: no new op or field.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from host.graph import Activation, Graph, OpKind, Quantization
from host.passes.rewrite import clone, compact
from host.passes.units import unit_pairs

_POOLS = (OpKind.MAX_POOL_2D, OpKind.AVERAGE_POOL_2D)


def _chain(graph: Graph, producer: int, consumer: int) -> list[int] | None:
    """Tensors from P's output to C's input (both included) when only pools lie between."""
    tensors = [graph.ops[producer].outputs[0]]
    while tensors[-1] != graph.ops[consumer].inputs[0]:
        user = next(op for op in graph.ops if tensors[-1] in op.inputs)
        if user.kind not in _POOLS:
            return None
        tensors.append(user.outputs[0])
    return tensors


def _activated(value: np.ndarray, activation: Activation) -> np.ndarray:
    if activation is Activation.RELU:
        return np.maximum(value, 0.0)
    if activation is Activation.RELU6:
        return np.clip(value, 0.0, 6.0)
    if activation is Activation.RELU_N1_TO_1:
        return np.clip(value, -1.0, 1.0)
    return value


def _slice_quant(q: Quantization, keep: np.ndarray) -> Quantization:
    if q.scale.size == 1:
        return q
    return Quantization(q.scale[keep], q.zero_point[keep], q.axis)


def _take(graph: Graph, index: int, keep: np.ndarray, axis: int) -> None:
    """Keep only `keep` along `axis` of constant tensor `index` (in place; encoding dropped)."""
    t = graph.tensors[index]
    data = np.take(np.asarray(t.data), keep, axis=axis)
    q = t.quantization
    if q is not None and q.scale.size > 1 and q.axis == axis:
        q = _slice_quant(q, keep)
    graph.tensors[index] = dataclasses.replace(t, data=data, shape=tuple(data.shape), quantization=q, encoding=None)


def shrink_pair(graph: Graph, producer: int, consumer: int, channels: int) -> tuple[Graph, int]:
    """`graph` (int8) with the dead channels of `producer` (read through `channels`-periodic
    input columns of `consumer`) removed; returns (graph, channels removed). A graph whose pair
    has no dead channel, or a RESHAPE between the two, comes back unchanged (0)."""
    chain = _chain(graph, producer, consumer)
    if chain is None:
        return graph, 0
    p_op, c_op = graph.ops[producer], graph.ops[consumer]
    if len(p_op.inputs) < 3 or p_op.inputs[2] < 0 or len(c_op.inputs) < 3 or c_op.inputs[2] < 0:
        return graph, 0
    w_p = np.asarray(graph.tensors[p_op.inputs[1]].data)
    w_c_t = graph.tensors[c_op.inputs[1]]
    w_c = np.asarray(w_c_t.data)
    rows_c = w_c.reshape(w_c.shape[0], -1)
    group = np.arange(rows_c.shape[1]) % channels
    unread = np.array([not rows_c[:, group == j].any() for j in range(channels)])
    constant = ~w_p.reshape(channels, -1).any(axis=1)
    dead = unread | constant
    if not dead.any() or dead.all():
        return graph, 0
    g = clone(graph)
    fold = constant & ~unread
    if fold.any():  # C's bias absorbs what a constant channel contributes
        b_p = graph.tensors[p_op.inputs[2]]
        b_real = b_p.data.astype(np.float64) * np.broadcast_to(b_p.quantization.scale, (channels,))
        out_t = graph.tensors[chain[-1]]
        o_scale, o_zero = out_t.quantization.single()
        level = np.clip(np.round(_activated(b_real, p_op.options.activation) / o_scale) + o_zero, -128, 127)
        value = (level - o_zero) * np.float64(o_scale)
        c_scale = np.broadcast_to(w_c_t.quantization.scale, (w_c.shape[0],)).astype(np.float64)
        contribution = (rows_c * (value[group] * fold[group])).sum(axis=1) * c_scale
        b_c = graph.tensors[c_op.inputs[2]]
        b_scale = np.broadcast_to(b_c.quantization.scale, (w_c.shape[0],)).astype(np.float64)
        b_new = np.clip(np.round(b_c.data.astype(np.float64) + contribution / b_scale), -(1 << 31), (1 << 31) - 1)
        g.tensors[c_op.inputs[2]] = dataclasses.replace(b_c, data=b_new.astype(np.int32), encoding=None)
    keep = np.flatnonzero(~dead)
    _take(g, p_op.inputs[1], keep, 0)
    _take(g, p_op.inputs[2], keep, 0)
    columns = np.flatnonzero(~dead[group])
    c_shape = w_c.shape
    flat = rows_c[:, columns]
    new_c = flat.reshape((c_shape[0],) + tuple(c_shape[1:-1]) + (-1,)) if len(c_shape) > 2 else flat
    c_t = g.tensors[c_op.inputs[1]]
    g.tensors[c_op.inputs[1]] = dataclasses.replace(c_t, data=new_c, shape=tuple(new_c.shape), encoding=None)
    for index in chain:
        t = g.tensors[index]
        g.tensors[index] = dataclasses.replace(t, shape=tuple(t.shape[:-1]) + (keep.size,),
                                               shape_signature=None if t.shape_signature is None else
                                               tuple(t.shape_signature[:-1]) + (keep.size,))
    return g, int(dead.sum())


def shrink(graph: Graph) -> tuple[Graph, int]:
    """`graph` (int8) with every dead hidden unit of every unit pair removed (shrink_pair).
    Returns (graph, channels removed in all)."""
    removed = 0
    current = graph
    changed = True
    while changed:
        changed = False
        for pair in unit_pairs(current):
            current, count = shrink_pair(current, pair.producer, pair.consumer, pair.channels)
            if count:
                removed += count
                changed = True
                break
    return compact(current) if removed else current, removed
