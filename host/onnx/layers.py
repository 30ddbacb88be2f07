"""Weight layers: Conv (CONV_2D, or DEPTHWISE_CONV_2D when group = input depth), Gemm and MatMul
(FULLY_CONNECTED), and BatchNormalization (folded into the layer before it, else MUL + ADD).

Weight layouts: ONNX Conv weights [M, C/group, kH, kW] become CONV_2D [M, kH, kW, C] or
DEPTHWISE_CONV_2D [1, kH, kW, M]; Gemm/MatMul weights become [out, in] with the input
features in the order the activation is stored (host/onnx/layout.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from host.graph import (
    NO_TENSOR, Conv2DOptions, DType, Padding, DepthwiseConv2DOptions, FullyConnectedOptions, NoOptions, OpKind,
)
from host.graph.ops import Activation as FusedActivation, AddOptions, MulOptions
from host.onnx.layout import NHWC, Activation, constant_for, identity
from host.onnx.lowering import Lowering, Node, Refused, bias_or_none
from host.onnx.padding import window
from host.passes.fold import fold_affine

_LAYER_AXIS = {OpKind.CONV_2D: 0, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 0}


def finite_float(array: np.ndarray, what: str) -> np.ndarray:
    """`array` as float32; Refused unless it is a finite float array."""
    if not np.issubdtype(array.dtype, np.floating):
        raise Refused(f"{what} must be float, is {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise Refused(f"{what} hold NaN or infinite values")
    return array.astype(np.float32)


def nhwc_input(x: Activation) -> None:
    """Refuse unless `x` is a 4-D NCHW activation stored as NHWC (what CONV_2D and pooling read)."""
    if x.rank != 4:
        raise Refused(f"input of shape {x.shape}: only 2-D convolution/pooling over NCHW inputs is supported")
    if x.perm != NHWC or x.feature_order is not None:
        raise Refused("the input is not an NCHW activation stored as NHWC (it was transposed or reshaped "
                      "in a way the device cannot follow without a TRANSPOSE op)")


def convert_conv(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    nhwc_input(x)
    w = finite_float(lw.constant(node, 1), "weights")
    b = lw.constant(node, 2, optional=True)
    if w.ndim != 4:
        raise Refused(f"weights of shape {w.shape}: only 2-D convolution is supported")
    _, channels, height, width = x.shape
    filters, depth, kh, kw = w.shape
    kernel = node.attr("kernel_shape")
    if kernel is not None and tuple(kernel) != (kh, kw):
        raise Refused(f"kernel_shape {list(kernel)} does not match the weights {w.shape}")
    group = int(node.attr("group", 1))
    win = window(node, (height, width), (kh, kw))
    if group == 1:
        if depth != channels:
            raise Refused(f"weights of depth {depth} for an input of {channels} channels")
        kind = OpKind.CONV_2D
        weights = w.transpose(0, 2, 3, 1)
    elif group == channels and depth == 1 and filters % channels == 0:
        kind = OpKind.DEPTHWISE_CONV_2D
        weights = w.reshape(filters, kh, kw).transpose(1, 2, 0)[np.newaxis]
    else:
        raise Refused(f"grouped convolution (group={group}, {channels} input channels, {filters} filters) is "
                      "not supported: only group=1 and depthwise (group = input channels) are")
    bias = None if b is None else finite_float(b, "bias").reshape(-1)
    if bias is not None and bias.size != filters:
        raise Refused(f"bias of {bias.size} values for {filters} filters")
    source = x
    padding = win.tflite_padding((height, width))
    if padding is None:  # explicit padding TFLite's SAME does not express: an explicit PAD first
        pads = np.array([[0, 0], [win.begin[0], win.end[0]], [win.begin[1], win.end[1]], [0, 0]], np.int32)
        pad_index = lw.add_constant(f"{node.output(0)}/paddings", pads, dtype=DType.INT32)
        padded = (1, channels, height + win.begin[0] + win.end[0], width + win.begin[1] + win.end[1])
        source = lw.emit(OpKind.PAD, (x.index, pad_index), f"{node.output(0)}/pad", padded, NoOptions())
        padding = Padding.VALID
    fields = dict(padding=padding, stride_h=win.strides[0], stride_w=win.strides[1],
                  dilation_h=win.dilations[0], dilation_w=win.dilations[1])
    if kind is OpKind.CONV_2D:
        options = Conv2DOptions(**fields)
    else:
        options = DepthwiseConv2DOptions(depth_multiplier=filters // channels, **fields)
    name = node.output(0)
    w_index = lw.add_constant(node.input(1), weights)
    inputs = (source.index, w_index) if bias is None else (source.index, w_index, lw.add_constant(node.input(2), bias))
    lw.define(name, lw.emit(kind, inputs, name, (1, filters) + win.out, options))


def _fully_connected(lw: Lowering, node: Node, x: Activation, weights: np.ndarray, bias: np.ndarray | None) -> None:
    """FULLY_CONNECTED of rank-2 `x` with ONNX-ordered `weights` [out, in] (columns reordered here).

    The weight and bias tensors keep the names of the node's inputs 1 and 2.
    """
    if x.rank != 2 or x.perm != identity(2):
        raise Refused(f"input of shape {x.shape}: FULLY_CONNECTED takes a 2-D [batch, features] input "
                      "(flatten it first)")
    units, depth = weights.shape
    if x.shape[1] != depth:
        raise Refused(f"weights for {depth} input features, the input has {x.shape[1]}")
    if x.feature_order is not None:
        weights = weights[:, x.feature_order]
    name = node.output(0)
    inputs = (x.index, lw.add_constant(node.input(1), weights))
    if bias is not None:
        inputs += (lw.add_constant(node.input(2), np.broadcast_to(bias.reshape(-1), (units,))),)
    lw.define(name, lw.emit(OpKind.FULLY_CONNECTED, inputs, name, (x.shape[0], units), FullyConnectedOptions()))


def convert_gemm(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    if not lw.is_constant(node.input(1)):
        raise Refused("B is computed at run time; only a constant B (a weight matrix) is supported")
    b = finite_float(lw.constant(node, 1), "B")
    c = lw.constant(node, 2, optional=True)
    if int(node.attr("transA", 0)):
        raise Refused("transA=1 is not supported")
    if b.ndim != 2:
        raise Refused(f"B of shape {b.shape} must be 2-D")
    alpha = np.float64(node.attr("alpha", 1.0))
    beta = np.float64(node.attr("beta", 1.0))
    weights = (b if int(node.attr("transB", 0)) else b.T).astype(np.float64) * alpha
    bias = None
    if c is not None:
        units = weights.shape[0]
        c = finite_float(c, "C")
        try:
            bias = np.broadcast_to(c, (1, units)).reshape(units).astype(np.float64) * beta
        except ValueError:
            raise Refused(f"C of shape {c.shape} is not a per-output bias for {units} outputs") from None
    _fully_connected(lw, node, x, weights.astype(np.float32), None if bias is None else bias.astype(np.float32))


def convert_matmul(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    if not lw.is_constant(node.input(1)):
        raise Refused("the second operand is computed at run time; only a constant weight matrix is supported")
    b = finite_float(lw.constant(node, 1), "weights")
    if b.ndim != 2:
        raise Refused(f"weights of shape {b.shape} must be 2-D")
    _fully_connected(lw, node, x, np.ascontiguousarray(b.T), None)


def convert_batch_norm(lw: Lowering, node: Node) -> None:
    """y = (x - mean) / sqrt(var + eps) * scale + B = x * m + a, per channel (ONNX axis 1)."""
    if int(node.attr("training_mode", 0)) or any(node.output(i) for i in (1, 2)):
        raise Refused("training-mode batch normalization (running statistics outputs) is not supported")
    x = lw.activation(node, 0)
    scale, shift, mean, var = (finite_float(lw.constant(node, i), "BatchNormalization parameters").astype(np.float64)
                               for i in range(1, 5))
    if x.rank < 2:
        raise Refused(f"input of shape {x.shape} has no channel axis")
    channels = x.shape[1]
    if any(p.shape != (channels,) for p in (scale, shift, mean, var)):
        raise Refused(f"parameters must each hold {channels} values (one per channel)")
    if np.any(var + float(node.attr("epsilon", 1e-5)) <= 0):
        raise Refused("variance + epsilon is not positive")
    m = scale / np.sqrt(var + np.float64(node.attr("epsilon", 1e-5)))
    a = shift - mean * m
    op = lw.producer_op(node, 0)
    if op is not None and op.kind in _LAYER_AXIS and op.options.activation is FusedActivation.NONE:
        w_t = lw.graph.tensors[op.inputs[1]]
        w, b = fold_affine(np.asarray(w_t.data), bias_or_none(lw, op), m, a, _LAYER_AXIS[op.kind])
        w_t.data = w
        if len(op.inputs) > 2 and op.inputs[2] != NO_TENSOR:
            lw.graph.tensors[op.inputs[2]].data = b
        else:
            op.inputs = (op.inputs[0], op.inputs[1], lw.add_constant(f"{w_t.name}/bias", b))
        lw.take_over(node)
        return
    shape = (1, channels) + (1,) * (x.rank - 2)
    try:
        m_stored = constant_for(x, m.reshape(shape).astype(np.float32))
        a_stored = constant_for(x, a.reshape(shape).astype(np.float32))
    except ValueError as exc:
        raise Refused(str(exc)) from None
    name = node.output(0)
    scaled = lw.emit(OpKind.MUL, (x.index, lw.add_constant(f"{name}/multiplier", m_stored)), f"{name}/scaled",
                     x.shape, MulOptions(), x.perm, x.feature_order)
    lw.define(name, lw.emit(OpKind.ADD, (scaled.index, lw.add_constant(f"{name}/addend", a_stored)), name,
                            x.shape, AddOptions(), x.perm, x.feature_order))


CONVERTERS = {
    "Conv": convert_conv,
    "Gemm": convert_gemm,
    "MatMul": convert_matmul,
    "BatchNormalization": convert_batch_norm,
}
