"""Pooling and reductions: MaxPool / AveragePool (MAX_POOL_2D / AVERAGE_POOL_2D when VALID or
SAME windows compute them), GlobalAveragePool / GlobalMaxPool (one window over the whole
feature map), ReduceMean (MEAN over the stored axes).
"""
from __future__ import annotations

import numpy as np

from host.graph import DType, MeanOptions, OpKind, Padding, Pool2DOptions
from host.onnx.layers import nhwc_input
from host.onnx.layout import Activation
from host.onnx.lowering import Lowering, Node, Refused
from host.onnx.padding import window
from host.onnx.shapes import reduction_axes


def _pool(kind: OpKind):
    def convert(lw: Lowering, node: Node) -> None:
        x = lw.activation(node, 0)
        nhwc_input(x)
        if node.output(1) is not None:
            raise Refused("the indices output of MaxPool is not supported")
        if int(node.attr("storage_order", 0)):
            raise Refused("storage_order=1 is not supported")
        kernel = tuple(int(k) for k in node.attr("kernel_shape", ()))
        if len(kernel) != 2:
            raise Refused(f"kernel_shape {list(kernel)}: only 2-D pooling is supported")
        spatial = x.shape[2:]
        win = window(node, spatial, kernel, ceil_mode=bool(node.attr("ceil_mode", 0)))
        if win.dilations != (1, 1):
            raise Refused(f"dilations {list(win.dilations)} are not supported in pooling")
        padding = win.tflite_padding(spatial)
        if padding is None:
            raise Refused(f"pads begin {list(win.begin)} end {list(win.end)} give windows that neither VALID nor "
                          "SAME pooling computes")
        if kind is OpKind.AVERAGE_POOL_2D and padding is Padding.SAME and int(node.attr("count_include_pad", 0)):
            total = [max((o - 1) * s + k - i, 0) for o, s, k, i in zip(win.out, win.strides, kernel, spatial)]
            if any(total):
                raise Refused("count_include_pad=1 with padding: TFLite averages over the valid cells only")
        options = Pool2DOptions(padding=padding, stride_h=win.strides[0], stride_w=win.strides[1],
                                filter_h=kernel[0], filter_w=kernel[1])
        name = node.output(0)
        lw.define(name, lw.emit(kind, (x.index,), name, x.shape[:2] + win.out, options))
    return convert


def _global_pool(kind: OpKind):
    def convert(lw: Lowering, node: Node) -> None:
        x = lw.activation(node, 0)
        nhwc_input(x)
        height, width = x.shape[2:]
        options = Pool2DOptions(padding=Padding.VALID, stride_h=height, stride_w=width,
                                filter_h=height, filter_w=width)
        name = node.output(0)
        lw.define(name, lw.emit(kind, (x.index,), name, x.shape[:2] + (1, 1), options))
    return convert


def convert_reduce_mean(lw: Lowering, node: Node) -> None:
    x = lw.activation(node, 0)
    if x.feature_order is not None:
        raise Refused("a mean over a flattened NCHW tensor is not supported")
    axes = reduction_axes(lw, node, x.rank)
    if axes is None:
        if int(node.attr("noop_with_empty_axes", 0)):
            lw.define(node.output(0), x)
            return
        axes = list(range(x.rank))
    keep = bool(node.attr("keepdims", 1))
    stored = sorted(x.stored_axis(a) for a in axes)
    name = node.output(0)
    axes_index = lw.add_constant(f"{name}/axes", np.array(stored, np.int32), DType.INT32)
    if keep:
        shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape))
        perm = x.perm
    else:
        shape = tuple(d for a, d in enumerate(x.shape) if a not in axes)
        remaining = [a for a in x.perm if a not in axes]
        order = sorted(remaining)
        perm = tuple(order.index(a) for a in remaining)
    value = lw.emit(OpKind.MEAN, (x.index, axes_index), name, shape, MeanOptions(keep_dims=keep), perm)
    lw.define(name, Activation(value.index, value.shape, value.perm))


CONVERTERS = {
    "MaxPool": _pool(OpKind.MAX_POOL_2D),
    "AveragePool": _pool(OpKind.AVERAGE_POOL_2D),
    "GlobalAveragePool": _global_pool(OpKind.AVERAGE_POOL_2D),
    "GlobalMaxPool": _global_pool(OpKind.MAX_POOL_2D),
    "ReduceMean": convert_reduce_mean,
}
