"""Run a graph on many samples at once with the reference kernels (the compressor's engine).

`host.reference.run` executes a graph exactly as declared (batch 1). The passes evaluate
thousands of samples and rerun the tail of a graph many times, so this module runs a copy of
the graph whose batch dimension is the chunk size, with the same kernels (a kernel computes
each sample of a batch independently and identically), and can restart from any op given
the values of the tensors before it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from host.errors import DataError, ModelError
from host.graph import NO_TENSOR, Graph, validate
from host.reference.common import OpContext
from host.reference.interpreter import KERNELS

# Elements of the largest activation times the chunk size stay below this (memory bound).
_CHUNK_ELEMENTS = 1 << 22


def batched(graph: Graph, n: int) -> Graph:
    """A shallow copy of `graph` whose activation tensors have batch dimension `n`.

    Raises `ModelError` when an activation's first dimension is not 1 (not a batch axis).
    """
    out = copy.copy(graph)
    out.tensors = []
    for tensor in graph.tensors:
        if tensor.is_constant or not tensor.shape:
            out.tensors.append(tensor)
            continue
        if tensor.shape[0] != 1:
            raise ModelError(f"tensor {tensor.name!r} of shape {tensor.shape} has no batch dimension of 1")
        t = copy.copy(tensor)
        t.shape = (n,) + tuple(tensor.shape[1:])
        out.tensors.append(t)
    return out


def chunk_size(graph: Graph, limit: int = 256) -> int:
    """Samples per batched run so that the largest activation stays within memory bounds."""
    largest = max((t.size for t in graph.tensors if not t.is_constant), default=1)
    return max(1, min(limit, _CHUNK_ELEMENTS // max(largest, 1)))


def forward(graph: Graph, values: list[np.ndarray | None], start: int = 0, stop: int | None = None) -> None:
    """Run ops `start..stop-1` (to the end without `stop`) of a (batched) graph in place on
    `values` (indexed like its tensors).

    Raises `ModelError` when an op computes another shape than the graph declares.
    """
    for op_index in range(start, len(graph.ops) if stop is None else stop):
        op = graph.ops[op_index]
        args = [values[i] if i != NO_TENSOR else None for i in op.inputs]
        result = KERNELS[op.kind](OpContext(graph, op, op_index, args))
        out = graph.tensors[op.outputs[0]]
        if tuple(result.shape) != tuple(out.shape):
            raise ModelError(f"{graph.describe_op(op_index)}: computes shape {result.shape}, "
                             f"the model declares {out.shape}")
        if result.dtype != out.dtype.numpy:
            result = result.astype(out.dtype.numpy)
        values[op.outputs[0]] = result


def _check_samples(graph: Graph, x: np.ndarray) -> None:
    tensor = graph.tensors[graph.inputs[0]]
    if len(graph.inputs) != 1:
        raise DataError(f"the model takes {len(graph.inputs)} inputs; data files hold one input `x`")
    if x.dtype != tensor.dtype.numpy:
        raise DataError(f"x must be {tensor.dtype.value} for input {tensor.name!r}, got {x.dtype}")
    if tuple(x.shape[1:]) != tuple(tensor.shape[1:]):
        raise DataError(f"x samples must have shape {tensor.shape[1:]} for input {tensor.name!r}, "
                        f"got {x.shape[1:]}")


@dataclass
class Trace:
    """Values of chosen tensors for every sample: `values[i]` is None unless tensor i was kept."""

    values: list[np.ndarray | None]
    samples: int


def run_samples(graph: Graph, x: np.ndarray, keep: set[int] | None = None,
                chunk: int | None = None) -> Trace:
    """Run `graph` on every sample of `x` (shape [N, *input shape without the batch axis]).

    Keeps the graph outputs and the tensors listed in `keep` (all activations when `keep` is
    None). Raises `UnsupportedModelError`/`ModelError` for a graph the interpreter cannot run
    and `DataError` when `x` does not fit the graph's single input.
    """
    validate(graph)
    _check_samples(graph, x)
    wanted = set(graph.outputs) | (keep if keep is not None else
                                   {i for i, t in enumerate(graph.tensors) if not t.is_constant})
    n = x.shape[0]
    step = chunk or chunk_size(graph)
    parts: dict[int, list[np.ndarray]] = {i: [] for i in wanted}
    cached: dict[int, Graph] = {}
    for begin in range(0, n, step):
        rows = x[begin:begin + step]
        g = cached.setdefault(rows.shape[0], batched(graph, rows.shape[0]))
        values: list[np.ndarray | None] = [t.data for t in g.tensors]
        values[graph.inputs[0]] = rows
        forward(g, values)
        for i in wanted:
            if values[i] is not None:
                parts[i].append(values[i])
    merged: list[np.ndarray | None] = [None] * len(graph.tensors)
    for i, chunks in parts.items():
        if chunks:
            merged[i] = np.concatenate(chunks, axis=0)
    return Trace(merged, n)


def rerun_from(graph: Graph, trace: Trace, start: int, chunk: int | None = None) -> list[np.ndarray]:
    """Outputs of `graph` on the samples of `trace`, rerunning only ops `start..`.

    `trace` must hold every activation that ops `start..` read and that an earlier op
    computed (a trace of all activations of the graph before the change does). The graph
    must be validated by the caller.
    """
    n = trace.samples
    step = chunk or chunk_size(graph)
    outputs: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    cached: dict[int, Graph] = {}
    for begin in range(0, n, step):
        end = min(n, begin + step)
        g = cached.setdefault(end - begin, batched(graph, end - begin))
        values: list[np.ndarray | None] = [t.data for t in g.tensors]
        for i, v in enumerate(trace.values):
            if v is not None and not graph.tensors[i].is_constant:
                values[i] = v[begin:end]
        forward(g, values, start)
        for k, i in enumerate(graph.outputs):
            outputs[k].append(values[i])
    return [np.concatenate(o, axis=0) for o in outputs]
