"""Element-wise nodes: activations (fused into the op before them when they can be), Softmax,
and Add/Mul/Sub/Div where at most one operand is computed at run time per arithmetic kind
(Sub and Div only by a constant: ADD of -c, MUL by 1/c).
"""
from __future__ import annotations

import math

import numpy as np

from host.graph import AddOptions, MulOptions, NoOptions, OpKind, SoftmaxOptions
from host.graph.ops import Activation as FusedActivation
from host.onnx.layers import finite_float
from host.onnx.layout import constant_for
from host.onnx.lowering import Lowering, Node, Refused

_STANDALONE = {FusedActivation.RELU: OpKind.RELU, FusedActivation.RELU6: OpKind.RELU6}


def _activation(lw: Lowering, node: Node, activation: FusedActivation) -> None:
    x = lw.activation(node, 0)
    if lw.fuse_activation(node, activation) is not None:
        return
    if activation not in _STANDALONE:
        raise Refused("a clip to [-1, 1] is only supported fused into the layer before it")
    lw.define(node.output(0), lw.emit(_STANDALONE[activation], (x.index,), node.output(0), x.shape,
                                      NoOptions(), x.perm, x.feature_order))


def convert_relu(lw: Lowering, node: Node) -> None:
    _activation(lw, node, FusedActivation.RELU)


def _clip_bound(lw: Lowering, node: Node, position: int, attribute: str, default: float) -> float:
    if lw.opset < 11:
        return float(node.attr(attribute, default))
    value = lw.constant(node, position, optional=True)
    if value is None:
        return default
    value = np.asarray(value)
    if value.size != 1:
        raise Refused(f"Clip bound of shape {value.shape} must be a scalar")
    return float(value.reshape(-1)[0])


def convert_clip(lw: Lowering, node: Node) -> None:
    low = _clip_bound(lw, node, 1, "min", -math.inf)
    high = _clip_bound(lw, node, 2, "max", math.inf)
    bounds = {(0.0, math.inf): FusedActivation.RELU, (0.0, 6.0): FusedActivation.RELU6,
              (-1.0, 1.0): FusedActivation.RELU_N1_TO_1}
    activation = bounds.get((low, high))
    if activation is None:
        raise Refused(f"Clip to [{low}, {high}]: only [0, inf) (ReLU), [0, 6] (ReLU6) and [-1, 1] are supported")
    _activation(lw, node, activation)


def _unary(kind: OpKind):
    def convert(lw: Lowering, node: Node) -> None:
        x = lw.activation(node, 0)
        lw.define(node.output(0), lw.emit(kind, (x.index,), node.output(0), x.shape, NoOptions(),
                                          x.perm, x.feature_order))
    return convert


def convert_softmax(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    rank = x.rank
    axis = int(node.attr("axis", -1 if lw.opset >= 13 else 1))
    if not -rank <= axis < rank:
        raise Refused(f"axis {axis} out of range for rank {rank}")
    axis %= rank
    # Before opset 13 Softmax normalizes over all axes from `axis` on (the input seen as 2-D).
    reduced = [axis] if lw.opset >= 13 else list(range(axis, rank))
    real = [a for a in reduced if x.shape[a] != 1]
    innermost = x.stored_shape[-1]
    if len(real) > 1 or (real and x.stored_axis(real[0]) != rank - 1) or (not real and innermost != 1):
        raise Refused(f"softmax over ONNX axes {reduced} of shape {x.shape}: only the innermost stored axis "
                      "(channels of an NCHW tensor, features of a 2-D one) is supported")
    lw.define(node.output(0), lw.emit(OpKind.SOFTMAX, (x.index,), node.output(0), x.shape, SoftmaxOptions(1.0),
                                      x.perm, x.feature_order))


def _binary(kind: OpKind, invert=None, commutes: bool = True):
    """ADD or MUL of two activations, or of an activation and a constant (`invert` maps the
    constant for Sub/Div: the activation must then come first)."""
    def convert(lw: Lowering, node: Node) -> None:
        names = (node.input(0), node.input(1))
        constant = [lw.is_constant(n) for n in names]
        if all(constant):
            raise Refused("both operands are constant")  # folded before; kept for safety
        options = AddOptions() if kind is OpKind.ADD else MulOptions()
        name = node.output(0)
        if any(constant):
            position = 0 if constant[1] else 1
            if position == 1 and not commutes:
                raise Refused(f"{node.op_type} of a constant by an activation is not supported "
                              "(only activation - constant and activation / constant)")
            x = lw.activation(node, position)
            c = finite_float(lw.constant(node, 1 - position), "the constant operand").astype(np.float64)
            if invert is not None:
                c = invert(c)
            try:
                stored = constant_for(x, c.astype(np.float32))
            except ValueError as exc:
                raise Refused(str(exc)) from None
            index = lw.add_constant(f"{name}/operand", stored)
            lw.define(name, lw.emit(kind, (x.index, index), name, x.shape, options, x.perm, x.feature_order))
            return
        if invert is not None:
            raise Refused(f"{node.op_type} of two activations is not supported")
        a, b = lw.activation(node, 0), lw.activation(node, 1)
        if a.rank != b.rank or not a.same_layout(b):
            raise Refused(f"operands of shapes {a.shape} and {b.shape} are stored in different layouts")
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise Refused(f"operands of shapes {a.shape} and {b.shape} do not broadcast") from None
        if a.feature_order is not None and a.shape != b.shape:
            raise Refused("broadcasting a flattened NCHW tensor is not supported")
        lw.define(name, lw.emit(kind, (a.index, b.index), name, shape, options, a.perm, a.feature_order))
    return convert


def _reciprocal(c: np.ndarray) -> np.ndarray:
    if np.any(c == 0):
        raise Refused("division by a constant holding zeros")
    return 1.0 / c


CONVERTERS = {
    "Relu": convert_relu,
    "Clip": convert_clip,
    "Sigmoid": _unary(OpKind.LOGISTIC),
    "HardSwish": _unary(OpKind.HARD_SWISH),
    "Softmax": convert_softmax,
    "Add": _binary(OpKind.ADD),
    "Mul": _binary(OpKind.MUL),
    "Sub": _binary(OpKind.ADD, invert=np.negative, commutes=False),
    "Div": _binary(OpKind.MUL, invert=_reciprocal, commutes=False),
}
