"""Constant folding: a node whose inputs are all constants is evaluated at import time with the
`onnx` package's reference evaluator (onnx.reference); Shape and Size of an activation are
constants too, since every shape is static once the batch dimension is 1.
"""
from __future__ import annotations

import numpy as np

from host.onnx.layout import Activation
from host.onnx.lowering import Lowering, Node, Refused
from host.onnx.proto import MAX_ELEMENTS

# Ops evaluated when all their inputs are constant (shape arithmetic of exporters, weight
# preprocessing); the lowered ops are folded the same way when their inputs are constant.
FOLDABLE = frozenset({
    "Constant", "Identity", "Cast", "CastLike", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat",
    "Gather", "GatherElements", "Slice", "Split", "Transpose", "Add", "Sub", "Mul", "Div", "Neg", "Abs",
    "Sqrt", "Reciprocal", "Pow", "Exp", "Log", "Floor", "Ceil", "Round", "Min", "Max", "Sum", "Mean",
    "Equal", "Less", "Greater", "Not", "And", "Or", "Where", "ReduceProd", "ReduceSum", "ReduceMean",
    "ReduceMax", "ReduceMin", "Sign", "ConstantOfShape", "Expand", "Range", "Tile", "Dropout",
})
# Folded whatever their input: the shape of every value is known.
SHAPE_OPS = frozenset({"Shape", "Size"})
# Ops whose output may be far larger than their inputs: sized before they are evaluated.
_GROWING = frozenset({"ConstantOfShape", "Expand", "Range", "Tile"})


def fold_shape(lw: Lowering, node: Node) -> None:
    """Shape (with start/end) or Size of any value."""
    name = node.input(0)
    value = lw.values.get(name) if name else None
    if value is None:
        raise Refused("input 0 is missing")
    shape = value.shape if isinstance(value, (Activation, np.ndarray)) else ()
    if node.op_type == "Size":
        lw.define(node.output(0), np.array(int(np.prod(shape, dtype=np.int64)), np.int64))
        return
    rank = len(shape)
    start = int(node.attr("start", 0))
    end = node.attr("end")
    end = rank if end is None else int(end)
    start, end = (max(0, min(rank, a + rank if a < 0 else a)) for a in (start, end))
    lw.define(node.output(0), np.array(shape[start:end], np.int64))


def _growth(node: Node, inputs: list[np.ndarray | None]) -> int:
    """An upper bound of the element count a growing op would produce."""
    try:
        if node.op_type == "ConstantOfShape":
            return int(np.prod(np.asarray(inputs[0], dtype=np.float64)))
        if node.op_type == "Expand":
            return int(np.prod(np.maximum(np.asarray(inputs[1], np.float64), 1))) * max(inputs[0].size, 1)
        if node.op_type == "Tile":
            return int(np.prod(np.asarray(inputs[1], np.float64))) * inputs[0].size
        if node.op_type == "Range":
            start, limit, delta = (float(np.asarray(v).reshape(-1)[0]) for v in inputs[:3])
            return int(abs((limit - start) / delta)) + 1 if delta else MAX_ELEMENTS + 1
    except (TypeError, ValueError, IndexError, AttributeError, OverflowError):
        return MAX_ELEMENTS + 1
    return 0


def fold(lw: Lowering, node: Node) -> None:
    """Evaluate a node whose present inputs are all constants; define its outputs as constants.

    Raises Refused when the node cannot be evaluated or would produce too large a constant.
    """
    from onnx.reference import ReferenceEvaluator

    inputs = [lw.values[n] if n else None for n in node.proto.input]
    if node.op_type in _GROWING and _growth(node, inputs) > MAX_ELEMENTS:
        raise Refused(f"the constant it computes would exceed {MAX_ELEMENTS} elements")
    feeds = {n: v for n, v in zip(node.proto.input, inputs) if n}
    try:
        evaluator = ReferenceEvaluator(node.proto, opsets={"": lw.opset})
        results = evaluator.run(None, feeds)
    except Exception as exc:  # the onnx reference evaluator raises many kinds of errors
        raise Refused(f"cannot evaluate it on its constant inputs: {type(exc).__name__}: {exc}") from None
    for name, result in zip(node.proto.output, results):
        if not name:
            continue
        array = np.asarray(result)
        if array.size > MAX_ELEMENTS:
            raise Refused(f"the constant it computes has {array.size} elements (at most {MAX_ELEMENTS})")
        lw.define(name, array)
