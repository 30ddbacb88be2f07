"""Fold batch normalization given as separate MUL / ADD ops into the preceding layer (float).

Pattern: a CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED without fused activation whose only
reader is a MUL by a constant per-output-channel vector `m` and/or an ADD of a constant
per-channel vector `a` (in that order, each optional, each read only by the next):
    y = (W x + b) * m + a   ->   W' = W * m (per output channel),  b' = b * m + a,
and the fused activation of the last folded op moves to the layer. `fold_affine(w, b, m, a)`
is the arithmetic on its own, for importers (ONNX BatchNormalization: m = gamma/sqrt(var+eps),
a = beta - mean*m) that fold at import.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from host.graph import Activation, DType, Graph, OpKind, Tensor
from host.passes.rewrite import channel_axis, clone, compact, consumers, weight_ops


@dataclass(frozen=True)
class FoldReport:
    """What `fold_batch_norm` did: one entry per folded MUL/ADD op, naming the layer it joined."""

    folded: tuple[str, ...]


def fold_affine(weights: np.ndarray, bias: np.ndarray | None, multiplier: np.ndarray | None,
                addend: np.ndarray | None, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias of `(W x + b) * multiplier + addend`, per channel along `axis`."""
    channels = weights.shape[axis]
    w = weights.astype(np.float64)
    b = np.zeros(channels) if bias is None else bias.astype(np.float64)
    if multiplier is not None:
        shape = [1] * w.ndim
        shape[axis] = channels
        w = w * multiplier.astype(np.float64).reshape(shape)
        b = b * multiplier.astype(np.float64)
    if addend is not None:
        b = b + addend.astype(np.float64)
    return w.astype(np.float32), b.astype(np.float32)


def _per_channel(graph: Graph, index: int, channels: int) -> np.ndarray | None:
    t = graph.tensors[index]
    if not t.is_constant or t.dtype is not DType.FLOAT32:
        return None
    data = np.asarray(t.data, dtype=np.float32)
    if data.size == 1:
        return np.full(channels, data.reshape(-1)[0], dtype=np.float32)
    if data.size == channels and data.shape[-1] == channels:
        return data.reshape(-1)
    return None


def fold_batch_norm(graph: Graph) -> tuple[Graph, FoldReport]:
    """Fold MUL/ADD-by-constant chains into the float layer before them (pure: returns a copy)."""
    out = clone(graph)
    folded: list[str] = []
    removed: set[int] = set()
    readers = consumers(out)
    for op_index in weight_ops(out):
        op = out.ops[op_index]
        if out.tensors[op.outputs[0]].dtype is not DType.FLOAT32 or op.options.activation is not Activation.NONE:
            continue
        w_t = out.tensors[op.inputs[1]]
        if w_t.dtype is not DType.FLOAT32:
            continue
        axis = channel_axis(op.kind.value)
        channels = w_t.shape[axis]
        multiplier = addend = None
        chain: list[int] = []
        current = op.outputs[0]
        for kind in (OpKind.MUL, OpKind.ADD):
            if current in out.outputs or len(readers[current]) != 1:
                break
            nxt_index = readers[current][0]
            nxt = out.ops[nxt_index]
            if nxt.kind is not kind or nxt_index in removed:
                continue
            other = nxt.inputs[1] if nxt.inputs[0] == current else nxt.inputs[0]
            vector = _per_channel(out, other, channels)
            if vector is None:
                break
            if kind is OpKind.MUL:
                multiplier = vector
            else:
                addend = vector
            chain.append(nxt_index)
            current = nxt.outputs[0]
            if nxt.options.activation is not Activation.NONE:
                break
        if not chain:
            continue
        bias_index = op.inputs[2] if len(op.inputs) > 2 else -1
        bias = out.tensors[bias_index].data if bias_index >= 0 else None
        w, b = fold_affine(np.asarray(w_t.data), None if bias is None else np.asarray(bias),
                           multiplier, addend, axis)
        out.tensors[op.inputs[1]] = dataclasses.replace(w_t, data=w, name=w_t.name + "/folded")
        if bias_index >= 0:
            out.tensors[bias_index] = dataclasses.replace(out.tensors[bias_index], data=b)
            new_bias = bias_index
        else:
            out.tensors.append(Tensor(w_t.name + "/bias", (channels,), DType.FLOAT32, data=b))
            new_bias = len(out.tensors) - 1
        last = out.ops[chain[-1]]
        op.inputs = (op.inputs[0], op.inputs[1], new_bias)
        op.outputs = last.outputs
        op.options = dataclasses.replace(op.options, activation=last.options.activation)
        removed.update(chain)
        folded.extend(f"{out.ops[i].kind.value} into {graph.describe_op(op_index)}" for i in chain)
    out.ops = [o for i, o in enumerate(out.ops) if i not in removed]
    return compact(out), FoldReport(tuple(folded))
