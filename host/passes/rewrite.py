"""Small graph-editing helpers shared by the passes: copying, consumers, dropping dead tensors."""
from __future__ import annotations

import copy

from host.graph import NO_TENSOR, Graph, Op, Tensor

# Kinds whose weight operand (input 1) and bias operand (input 2) the passes compress.
WEIGHT_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def clone(graph: Graph) -> Graph:
    """A copy whose tensor and op lists (and the Tensor/Op objects) can be edited freely.

    Constant arrays are shared, not copied: passes replace `data`, they never write into it.
    """
    return Graph(tensors=[copy.copy(t) for t in graph.tensors],
                 ops=[Op(op.kind, tuple(op.inputs), tuple(op.outputs), op.options) for op in graph.ops],
                 inputs=list(graph.inputs), outputs=list(graph.outputs), description=graph.description)


def consumers(graph: Graph) -> list[list[int]]:
    """For each tensor, the indices of the ops that read it."""
    readers: list[list[int]] = [[] for _ in graph.tensors]
    for op_index, op in enumerate(graph.ops):
        for i in op.inputs:
            if i != NO_TENSOR:
                readers[i].append(op_index)
    return readers


def producer(graph: Graph) -> list[int]:
    """For each tensor, the index of the op that computes it (-1 for inputs and constants)."""
    made = [-1] * len(graph.tensors)
    for op_index, op in enumerate(graph.ops):
        for i in op.outputs:
            made[i] = op_index
    return made


def weight_ops(graph: Graph) -> list[int]:
    """Indices of the ops with a constant weight operand (CONV_2D, DEPTHWISE_CONV_2D, FC)."""
    return [i for i, op in enumerate(graph.ops)
            if op.kind.value in WEIGHT_KINDS and graph.tensors[op.inputs[1]].is_constant]


def channel_axis(kind_value: str) -> int:
    """The output-channel axis of a weight tensor: 3 for DEPTHWISE_CONV_2D, else 0."""
    return 3 if kind_value == "DEPTHWISE_CONV_2D" else 0


def add_tensor(graph: Graph, tensor: Tensor) -> int:
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def compact(graph: Graph) -> Graph:
    """Drop tensors no op, input or output refers to; renumber the references (in place)."""
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.ops:
        used.update(i for i in op.inputs if i != NO_TENSOR)
        used.update(op.outputs)
    order = sorted(used)
    remap = {old: new for new, old in enumerate(order)}
    graph.tensors = [graph.tensors[i] for i in order]
    for op in graph.ops:
        op.inputs = tuple(remap[i] if i != NO_TENSOR else NO_TENSOR for i in op.inputs)
        op.outputs = tuple(remap[i] for i in op.outputs)
    graph.inputs = [remap[i] for i in graph.inputs]
    graph.outputs = [remap[i] for i in graph.outputs]
    return graph
