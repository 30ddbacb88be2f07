"""Run a graph op by op with the reference kernels (one module per op kind)."""
from __future__ import annotations

import numpy as np

from host.errors import DataError, ModelError
from host.graph import NO_TENSOR, Graph, OpKind, validate
from host.reference import (
    add, average_pool, concatenation, conv, depthwise_conv, dequantize, fully_connected,
    hard_swish, logistic, max_pool, mean, mul, pad, quantize, relu, reshape, softmax,
)
from host.reference.common import OpContext

KERNELS = {
    OpKind.CONV_2D: conv.evaluate,
    OpKind.DEPTHWISE_CONV_2D: depthwise_conv.evaluate,
    OpKind.FULLY_CONNECTED: fully_connected.evaluate,
    OpKind.AVERAGE_POOL_2D: average_pool.evaluate,
    OpKind.MAX_POOL_2D: max_pool.evaluate,
    OpKind.ADD: add.evaluate,
    OpKind.MUL: mul.evaluate,
    OpKind.RESHAPE: reshape.evaluate,
    OpKind.SOFTMAX: softmax.evaluate,
    OpKind.LOGISTIC: logistic.evaluate,
    OpKind.RELU: relu.evaluate,
    OpKind.RELU6: relu.evaluate,
    OpKind.HARD_SWISH: hard_swish.evaluate,
    OpKind.PAD: pad.evaluate,
    OpKind.CONCATENATION: concatenation.evaluate,
    OpKind.MEAN: mean.evaluate,
    OpKind.QUANTIZE: quantize.evaluate,
    OpKind.DEQUANTIZE: dequantize.evaluate,
}


def _check_inputs(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    if len(inputs) != len(graph.inputs):
        raise DataError(f"the model takes {len(graph.inputs)} inputs, got {len(inputs)}")
    checked = []
    for position, (index, value) in enumerate(zip(graph.inputs, inputs)):
        tensor = graph.tensors[index]
        value = np.asarray(value)
        if value.dtype != tensor.dtype.numpy:
            raise DataError(f"input {position} ({tensor.name!r}) must be {tensor.dtype.value}, "
                            f"got {value.dtype}")
        if tuple(value.shape) != tuple(tensor.shape):
            raise DataError(f"input {position} ({tensor.name!r}) must have shape {tensor.shape}, "
                            f"got {value.shape}")
        checked.append(value)
    return checked


def run_all(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray | None]:
    """Run `graph`; return the value of every tensor, indexed like `graph.tensors`.

    Constants are included; tensors never computed are None. Raises `UnsupportedModelError`
    (a `ModelError`) when the graph fails validation, `ModelError` when an op's shapes do not
    fit, and `DataError` when `inputs` do not match the graph inputs in count, dtype or shape.
    """
    validate(graph)
    values: list[np.ndarray | None] = [t.data for t in graph.tensors]
    for index, value in zip(graph.inputs, _check_inputs(graph, inputs)):
        values[index] = value
    for op_index, op in enumerate(graph.ops):
        args = [values[i] if i != NO_TENSOR else None for i in op.inputs]
        ctx = OpContext(graph, op, op_index, args)
        result = KERNELS[op.kind](ctx)
        out = graph.tensors[op.outputs[0]]
        if tuple(result.shape) != tuple(out.shape):
            raise ModelError(f"{graph.describe_op(op_index)}: computes shape {result.shape}, "
                             f"the model declares {out.shape}")
        if result.dtype != out.dtype.numpy:
            result = result.astype(out.dtype.numpy)
        values[op.outputs[0]] = result
    return values


def run(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run `graph` on `inputs` (one array per graph input); return the graph outputs.

    Raises as `run_all`.
    """
    values = run_all(graph, inputs)
    return [values[i] for i in graph.outputs]
