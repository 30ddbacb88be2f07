"""Post-training quantization of a float graph to TensorFlow Lite's int8 scheme.

Steps (docs/compression.md, "quantize"): dequantize hybrid int8 weights to float, fold
batch-norm MUL/ADD chains (fold.py), calibrate activation ranges on the user's inputs
(calibrate.py), then
- activations: asymmetric per-tensor int8 from the chosen range; tensors that TFLite's int8
  kernels require to share parameters (AVERAGE/MAX_POOL_2D, RESHAPE, PAD in and out, all of a
  CONCATENATION) get the union of their ranges; SOFTMAX/LOGISTIC outputs get 1/256, -128;
- weights: symmetric per output channel (axis 0, DEPTHWISE_CONV_2D axis 3), levels in
  [-127, 127] at scales on the container's compact grid (rate.storable_scales), recorded as
  8-bit `UniformLevels` (step 1);
- biases: int32 at scale float32(s_in) * s_w[c], zero point 0, optionally bias-corrected:
  the mean output shift the weight rounding causes on the calibration data is subtracted.
Graph inputs and outputs become int8 (the data's float inputs are quantized with the input
tensor's parameters, host.data).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from host.errors import ModelError
from host.graph import DType, Graph, OpKind, Quantization, Tensor, UniformLevels, validate
from host.passes.calibrate import Calibration, RangeMethod, activation_params, calibrate, choose_range
from host.passes.fold import fold_batch_norm
from host.passes.layerstats import output_shift
from host.passes.quantizers import ClipMethod, uniform_levels
from host.passes.rewrite import channel_axis, clone, weight_ops
from host.reference.conv import dequantized_weights

_SHARED_KINDS = (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D, OpKind.RESHAPE, OpKind.PAD,
                 OpKind.CONCATENATION)
_FIXED_OUTPUT = {OpKind.SOFTMAX: (np.float32(1.0 / 256), -128), OpKind.LOGISTIC: (np.float32(1.0 / 256), -128)}
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


@dataclass(frozen=True)
class QuantizeOptions:
    """Choices of the post-training quantizer."""

    activation_range: RangeMethod = RangeMethod.MINMAX
    percentile: float = 99.99
    weight_clip: ClipMethod = ClipMethod.MINMAX
    bias_correction: bool = True


@dataclass(frozen=True)
class QuantizeReport:
    """What `quantize` did: folds, calibration sample count, layers quantized and corrected."""

    folded: tuple[str, ...]
    calibration_samples: int
    weight_tensors: int
    bias_corrected: int


def dequantize_hybrid(graph: Graph) -> Graph:
    """Float copy of a dynamic-range graph: int8 weights of float ops become float32 constants."""
    out = clone(graph)
    for op in out.ops:
        if op.kind.value in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = out.tensors[op.inputs[1]]
            if w.is_constant and w.dtype is DType.INT8 and out.tensors[op.outputs[0]].dtype is DType.FLOAT32:
                out.tensors[op.inputs[1]] = dataclasses.replace(
                    w, dtype=DType.FLOAT32, quantization=None, data=dequantized_weights(w, w.data))
    return out


class _Groups:
    """Union-find over tensor indices that must share int8 parameters."""

    def __init__(self, count: int) -> None:
        self.parent = list(range(count))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _activation_quantization(graph: Graph, calibration: Calibration,
                             options: QuantizeOptions) -> list[Quantization | None]:
    count = len(graph.tensors)
    groups = _Groups(count)
    fixed: dict[int, tuple[np.float32, int]] = {}
    for op in graph.ops:
        if op.kind in _SHARED_KINDS:
            members = [op.inputs[0]] if op.kind is not OpKind.CONCATENATION else list(op.inputs)
            for i in members:
                groups.union(i, op.outputs[0])
        if op.kind in _FIXED_OUTPUT:
            fixed[op.outputs[0]] = _FIXED_OUTPUT[op.kind]
    ranges: dict[int, tuple[float, float]] = {}
    for i, stats in enumerate(calibration.stats):
        if stats is None:
            continue
        lo, hi = choose_range(stats, options.activation_range, options.percentile)
        root = groups.find(i)
        old = ranges.get(root, (0.0, 0.0))
        ranges[root] = (min(old[0], lo), max(old[1], hi))
    fixed_roots = {groups.find(i): params for i, params in fixed.items()}
    result: list[Quantization | None] = [None] * count
    for i, tensor in enumerate(graph.tensors):
        root = groups.find(i)
        if tensor.is_constant and root == i:
            continue
        if root in fixed_roots:
            scale, zero = fixed_roots[root]
        elif root in ranges:
            scale, zero = activation_params(*ranges[root])
        else:
            continue
        result[i] = Quantization(np.array([scale], dtype=np.float32), np.array([zero]))
    return result


def _quantize_constant(data: np.ndarray, q: Quantization | None) -> tuple[np.ndarray, Quantization]:
    """int8 values of a constant operand (ADD/MUL/CONCATENATION), per tensor."""
    if q is None:
        scale, zero = activation_params(float(np.min(data)), float(np.max(data)))
        q = Quantization(np.array([scale]), np.array([zero]))
    scale, zero = q.single()
    values = np.clip(np.round(np.asarray(data, dtype=np.float64) / scale) + zero, -128, 127)
    return values.astype(np.int8), q


def quantize(graph: Graph, x: np.ndarray, options: QuantizeOptions = QuantizeOptions()
             ) -> tuple[Graph, QuantizeReport]:
    """Quantize float `graph` to int8 using calibration inputs `x` [N, *input shape[1:]].

    Raises `ModelError` when the graph is not a float graph (or holds QUANTIZE/DEQUANTIZE
    ops on activations), `UnsupportedModelError` when it fails validation, and `DataError`
    when `x` does not fit its input.
    """
    validate(graph)
    inputs_float = all(graph.tensors[i].dtype is DType.FLOAT32 for i in graph.inputs)
    if not inputs_float:
        raise ModelError("quantize takes a float model (float32 inputs); this one is already quantized")
    for index, op in enumerate(graph.ops):
        if op.kind in (OpKind.QUANTIZE, OpKind.DEQUANTIZE):
            raise ModelError(f"{graph.describe_op(index)}: QUANTIZE/DEQUANTIZE inside a float model "
                             "is not supported by post-training quantization")
    float_graph, fold_report = fold_batch_norm(dequantize_hybrid(graph))
    calibration = calibrate(float_graph, x)
    act_q = _activation_quantization(float_graph, calibration, options)
    out = clone(float_graph)
    for i, tensor in enumerate(out.tensors):
        if not tensor.is_constant and tensor.dtype is DType.FLOAT32:
            if act_q[i] is None:
                raise ModelError(f"tensor {tensor.name!r} was never computed during calibration")
            out.tensors[i] = dataclasses.replace(tensor, dtype=DType.INT8, quantization=act_q[i])
    done: set[int] = set()
    corrected = 0
    for op_index in weight_ops(float_graph):
        op = float_graph.ops[op_index]
        corrected += _quantize_layer(float_graph, out, op_index, calibration, options, done)
        done.update(op.inputs[1:])
    for op_index, op in enumerate(out.ops):
        for position, i in enumerate(op.inputs):
            t = out.tensors[i] if i >= 0 else None
            if t is None or i in done or not t.is_constant or t.dtype is not DType.FLOAT32:
                continue
            if op.kind in (OpKind.ADD, OpKind.MUL, OpKind.CONCATENATION):
                values, q = _quantize_constant(t.data, act_q[i])
                out.tensors[i] = dataclasses.replace(t, dtype=DType.INT8, quantization=q, data=values)
                done.add(i)
            else:
                raise ModelError(f"{out.describe_op(op_index)}: float constant operand {position} "
                                 "cannot be quantized")
    validate(out)
    report = QuantizeReport(fold_report.folded, calibration.samples, len(weight_ops(float_graph)), corrected)
    return out, report


def _quantize_layer(float_graph: Graph, out: Graph, op_index: int, calibration: Calibration,
                    options: QuantizeOptions, done: set[int]) -> int:
    """Quantize one layer's weights and bias into `out`; return 1 when its bias was corrected."""
    op = float_graph.ops[op_index]
    w_index = op.inputs[1]
    if w_index in done:
        raise ModelError(f"{float_graph.describe_op(op_index)}: weights shared between layers are not supported")
    w_t = float_graph.tensors[w_index]
    w = np.asarray(w_t.data, dtype=np.float64)
    axis = channel_axis(op.kind.value)
    levels, scale, step = uniform_levels(w, axis, 8, options.weight_clip, half_scales=True)
    q_w = (levels * step).astype(np.int8)
    out.tensors[w_index] = dataclasses.replace(
        w_t, dtype=DType.INT8, data=q_w,
        quantization=Quantization(scale, np.zeros(scale.size, dtype=np.int64), axis),
        encoding=UniformLevels(levels.astype(np.int8), 8, step))
    channels = w.shape[axis]
    bias_index = op.inputs[2] if len(op.inputs) > 2 else -1
    bias = np.zeros(channels) if bias_index < 0 else np.asarray(float_graph.tensors[bias_index].data, np.float64)
    corrected = 0
    in_stats = calibration.stats[op.inputs[0]]
    if options.bias_correction and in_stats is not None:
        shape = [1] * w.ndim
        shape[axis] = -1
        delta = q_w.astype(np.float64) * scale.astype(np.float64).reshape(shape) - w
        bias = bias - output_shift(float_graph, op_index, delta, in_stats.mean)
        corrected = 1
    in_scale = out.tensors[op.inputs[0]].quantization.scale[0]
    bias_scale = (np.float32(in_scale) * scale).astype(np.float32)
    values = np.clip(np.round(bias / bias_scale.astype(np.float64)), _INT32_MIN, _INT32_MAX).astype(np.int32)
    bias_q = Quantization(bias_scale, np.zeros(channels, dtype=np.int64), 0)
    if bias_index >= 0:
        out.tensors[bias_index] = dataclasses.replace(float_graph.tensors[bias_index], dtype=DType.INT32,
                                                      data=values, quantization=bias_q)
    elif corrected:
        out.tensors.append(Tensor(w_t.name + "/bias", (channels,), DType.INT32, bias_q, values))
        o = out.ops[op_index]
        o.inputs = (o.inputs[0], o.inputs[1], len(out.tensors) - 1)
    return corrected
