"""Nodes that move or relabel data: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Pad,
and the aliases Identity, Dropout and Cast (float32 to float32).

A reshape becomes a RESHAPE op (or nothing, when the stored shape does not change) only when
the stored elements are already in the order the new shape needs; flattening an NCHW tensor
stored as NHWC instead records the feature order for the next FULLY_CONNECTED layer
(host/onnx/layout.py). A Transpose never moves data: it relabels the layout.
"""
from __future__ import annotations

import numpy as np

from host.graph import ConcatenationOptions, DType, NoOptions, OpKind, ReshapeOptions
from host.onnx.layout import Activation, default_perm, flat_order, identity
from host.onnx.lowering import Lowering, Node, Refused


def _ints(values, what: str) -> list[int]:
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.integer):
        raise Refused(f"{what} must be integers, are {array.dtype}")
    return [int(v) for v in array.reshape(-1)]


def reshape_to(lw: Lowering, node: Node, x: Activation, target: tuple[int, ...]) -> None:
    """Define output 0 as `x` reshaped (ONNX row-major semantics) to `target`."""
    if int(np.prod(target, dtype=np.int64)) != int(np.prod(x.shape, dtype=np.int64)):
        raise Refused(f"cannot reshape {x.shape} to {target}")
    source = flat_order(x.shape, x.perm, x.feature_order)
    for perm in dict.fromkeys((default_perm(len(target)), identity(len(target)))):
        if np.array_equal(source, flat_order(target, perm)):
            _relabel(lw, node, x, Activation(0, target, perm))
            return
    if len(target) == 2 and target[0] == 1:
        _relabel(lw, node, x, Activation(0, target, identity(2), source))
        return
    raise Refused(f"reshaping {x.shape} (stored as {x.stored_shape}) to {target} would need a transpose of the "
                  "data, which the device does not have")


def _relabel(lw: Lowering, node: Node, x: Activation, layout: Activation) -> None:
    name = node.output(0)
    if layout.stored_shape == x.stored_shape:
        lw.define(name, Activation(x.index, layout.shape, layout.perm, layout.feature_order))
        return
    shape_index = lw.add_constant(f"{name}/shape", np.array(layout.stored_shape, np.int32), DType.INT32)
    lw.define(name, lw.emit(OpKind.RESHAPE, (x.index, shape_index), name, layout.shape,
                            ReshapeOptions(tuple(layout.stored_shape)), layout.perm, layout.feature_order))


def convert_reshape(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    requested = _ints(lw.constant(node, 1), "the shape")
    allow_zero = bool(node.attr("allowzero", 0))
    dims = []
    for i, d in enumerate(requested):
        if d == 0 and not allow_zero:
            if i >= x.rank:
                raise Refused(f"shape {requested} copies dimension {i} the input {x.shape} does not have")
            d = x.shape[i]
        dims.append(d)
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise Refused(f"invalid shape {requested}")
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
        total = int(np.prod(x.shape, dtype=np.int64))
        if known == 0 or total % known:
            raise Refused(f"cannot reshape {x.shape} to {requested}")
        dims[dims.index(-1)] = total // known
    reshape_to(lw, node, x, tuple(dims))


def convert_flatten(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    axis = int(node.attr("axis", 1))
    if not -x.rank <= axis <= x.rank:
        raise Refused(f"axis {axis} out of range for rank {x.rank}")
    if axis < 0:
        axis += x.rank
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    reshape_to(lw, node, x, (outer, int(np.prod(x.shape[axis:], dtype=np.int64))))


def reduction_axes(lw: Lowering, node: Node, rank: int) -> list[int] | None:
    """The `axes` of Squeeze/ReduceMean (an attribute in older opsets, else input 1), or None."""
    value = node.attr("axes")
    if value is None and node.input(1) is not None:
        value = lw.constant(node, 1)
    if value is None:
        return None
    axes = _ints(value, "axes")
    if any(not -rank <= a < rank for a in axes):
        raise Refused(f"axes {axes} out of range for rank {rank}")
    return sorted({a % rank for a in axes})


def convert_squeeze(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    axes = reduction_axes(lw, node, x.rank)
    if axes is None:
        axes = [a for a, d in enumerate(x.shape) if d == 1]
    if any(x.shape[a] != 1 for a in axes):
        raise Refused(f"cannot squeeze axes {axes} of shape {x.shape}")
    reshape_to(lw, node, x, tuple(d for a, d in enumerate(x.shape) if a not in axes))


def convert_unsqueeze(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    requested = node.attr("axes")
    if requested is None:
        requested = lw.constant(node, 1)
    rank = x.rank + len(_ints(requested, "axes"))
    axes = _axes_of(_ints(requested, "axes"), rank)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    reshape_to(lw, node, x, tuple(shape))


def _axes_of(axes: list[int], rank: int) -> list[int]:
    if any(not -rank <= a < rank for a in axes):
        raise Refused(f"axes {axes} out of range for rank {rank}")
    return sorted({a % rank for a in axes})


def convert_transpose(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    order = node.attr("perm")
    order = tuple(reversed(range(x.rank))) if order is None else tuple(int(a) for a in order)
    if sorted(order) != list(range(x.rank)):
        raise Refused(f"perm {list(order)} is not a permutation of {x.rank} axes")
    if order == identity(x.rank):
        lw.define(node.output(0), x)
        return
    if x.feature_order is not None:
        raise Refused("transposing a flattened NCHW tensor is not supported")
    inverse = [0] * x.rank
    for new_axis, old_axis in enumerate(order):
        inverse[old_axis] = new_axis
    lw.define(node.output(0), Activation(x.index, tuple(x.shape[a] for a in order),
                                         tuple(inverse[a] for a in x.perm)))


def convert_concat(lw: Lowering, node: Node) -> None:
    names = [n for n in node.proto.input if n]
    if any(lw.is_constant(n) for n in names):
        raise Refused("Concat with a constant operand is not supported")
    parts = [lw.activation(node, i) for i in range(len(node.proto.input))]
    first = parts[0]
    if any(p.rank != first.rank or not p.same_layout(first) or p.feature_order is not None for p in parts):
        raise Refused("operands are stored in different layouts (or are flattened NCHW tensors)")
    axis = int(node.attr("axis", 1))
    if not -first.rank <= axis < first.rank:
        raise Refused(f"axis {axis} out of range for rank {first.rank}")
    axis %= first.rank
    shape = list(first.shape)
    for p in parts[1:]:
        if any(d != e for i, (d, e) in enumerate(zip(p.shape, first.shape)) if i != axis):
            raise Refused(f"operands of shapes {first.shape} and {p.shape} differ outside axis {axis}")
        shape[axis] += p.shape[axis]
    name = node.output(0)
    lw.define(name, lw.emit(OpKind.CONCATENATION, tuple(p.index for p in parts), name, tuple(shape),
                            ConcatenationOptions(axis=first.stored_axis(axis)), first.perm))


def convert_pad(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    mode = node.attr("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        raise Refused(f"mode {mode!r}: only constant padding is supported")
    if lw.opset < 11:
        pads, value = _ints(node.attr("pads", []), "pads"), float(node.attr("value", 0.0))
        axes = list(range(x.rank))
    else:
        pads = _ints(lw.constant(node, 1), "pads")
        constant = lw.constant(node, 2, optional=True)
        constant = np.zeros(0) if constant is None else np.asarray(constant).reshape(-1)
        value = float(constant[0]) if constant.size else 0.0
        axes = _axes_of(_ints(lw.constant(node, 3), "axes"), x.rank) if node.input(3) else list(range(x.rank))
    if value != 0.0:
        raise Refused(f"padding value {value}: only zero padding is supported")
    if len(pads) != 2 * len(axes):
        raise Refused(f"{len(pads)} pads for {len(axes)} axes")
    amounts = [[0, 0] for _ in range(x.rank)]
    for i, a in enumerate(axes):
        amounts[a] = [pads[i], pads[i + len(axes)]]
    if any(v < 0 for pair in amounts for v in pair):
        raise Refused(f"negative pads {pads} (cropping) are not supported")
    if x.feature_order is not None and any(amounts[-1]):
        raise Refused("padding a flattened NCHW tensor is not supported")
    stored = np.array([amounts[a] for a in x.perm], dtype=np.int32)
    name = node.output(0)
    shape = tuple(d + b + e for d, (b, e) in zip(x.shape, amounts))
    index = lw.add_constant(f"{name}/paddings", stored, DType.INT32)
    lw.define(name, lw.emit(OpKind.PAD, (x.index, index), name, shape, NoOptions(), x.perm, x.feature_order))


def convert_alias(lw: Lowering, node: Node) -> None:
    """Identity, Dropout (inference: identity) and Cast to float32 of a float32 activation."""
    x = lw.activation(node, 0)
    if node.op_type == "Dropout" and node.output(1) is not None:
        raise Refused("the dropout mask output is not supported")
    if node.op_type == "Cast" and int(node.attr("to", 0)) != 1:
        raise Refused("only a cast to float32 is supported")
    lw.define(node.output(0), x)


CONVERTERS = {
    "Reshape": convert_reshape,
    "Flatten": convert_flatten,
    "Squeeze": convert_squeeze,
    "Unsqueeze": convert_unsqueeze,
    "Transpose": convert_transpose,
    "Concat": convert_concat,
    "Pad": convert_pad,
    "Identity": convert_alias,
    "Dropout": convert_alias,
    "Cast": convert_alias,
}
