"""Low-rank factorization of a weight layer into two layers (options for the search).

Three structures, each exact at full rank and each a pair of ordinary int8 ops the device
already runs (the first without bias or activation, the second with the layer's bias and
fused activation; the tensor between them gets its own int8 parameters):
- LOW_RANK (FULLY_CONNECTED, CONV_2D 1x1): W [o, d] ~ U [o, r] V [r, d] by truncated SVD
  (singular values split evenly), as FC(V) then FC(U), or CONV 1x1(V, the layer's stride)
  then CONV 1x1(U).
- SPATIAL (CONV_2D k_h x k_w): W[o, y, x, i] ~ sum_r A[r, y, i] B[o, x, r] (SVD of W viewed as
  [(y, i), (x, o)]), as CONV k_h x 1 (stride (s_h, 1)) then CONV 1 x k_w (stride (1, s_w)),
  padding split per axis as TFLite computes it.
- DEPTHWISE (CONV_2D k x k): per input channel i, W[:, :, :, i] [o, k_h*k_w] ~ P_i D_i of rank
  m (depth multiplier), as DEPTHWISE_CONV_2D(D, multiplier m) then CONV 1x1(P).
The search (engine.py) weighs each option's bytes against its predicted distortion, so a
factorization is chosen only when it is smaller at the budget.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

import numpy as np

from host.graph import (
    Activation, Conv2DOptions, DepthwiseConv2DOptions, DType, FullyConnectedOptions, Graph, Op, OpKind,
    Padding, Quantization, Tensor,
)
from host.passes.calibrate import activation_params
from host.passes.candidates import WeightCandidate, uniform_candidate
from host.passes.engine import Layer, LayerOption, SearchSpace, _bias_int32, _set_bias, bias_bytes
from host.passes.layerstats import distortion
from host.passes.rate import ACTIVATION_PARAMS_BYTES, RateFn, tensor_bytes


class FactorKind(enum.Enum):
    LOW_RANK = "low-rank"
    SPATIAL = "spatial"
    DEPTHWISE = "depthwise"


@dataclass(eq=False)
class Factorization:
    """Two layers replacing one: quantized factors, their ops' options, the middle tensor."""

    kind: FactorKind
    rank: int
    first: WeightCandidate
    first_kind: OpKind
    first_options: object
    second: WeightCandidate
    second_kind: OpKind
    second_options: object
    mid_shape: tuple[int, ...]
    mid_scale: np.float32
    mid_zero: int

    def effective_real(self) -> np.ndarray:
        """The single layer's real weights the two quantized factors compute."""
        a, b = self.first.real(), self.second.real()
        if self.kind is FactorKind.LOW_RANK:
            w = b.reshape(b.shape[0], -1) @ a.reshape(a.shape[0], -1)
            return w.reshape((b.shape[0],) + a.shape[1:]) if a.ndim == 4 else w
        if self.kind is FactorKind.SPATIAL:
            return np.einsum("ryi,oxr->oyxi", a[:, :, 0, :], b[:, 0, :, :])
        m = self.rank
        kh, kw, im = a.shape[1], a.shape[2], a.shape[3]
        d = a[0].reshape(kh, kw, im // m, m)
        p = b[:, 0, 0, :].reshape(b.shape[0], im // m, m)
        return np.einsum("yxim,oim->oyxi", d, p)

    def params(self) -> int:
        return int(self.first.data.size + self.second.data.size)


def _svd(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    root = np.sqrt(s[:rank])
    return u[:, :rank] * root, root[:, None] * vt[:rank]


def _mid_params(values: np.ndarray) -> tuple[np.float32, int]:
    return activation_params(float(values.min()), float(values.max()))


def factorizations(layer: Layer, op: Op, out_shape: tuple[int, ...], in_shape: tuple[int, ...],
                   space: SearchSpace, bits: int, max_ratio: float = 0.7) -> list[Factorization]:
    """Every factorization of `layer` at the ranks of `space` whose parameter count is below
    `max_ratio` times the layer's, with both factors quantized uniformly at `bits`."""
    w = layer.real
    patches = layer.stats.patches
    found = []
    if layer.kind is OpKind.FULLY_CONNECTED and len(in_shape) == 2 and not op.options.keep_num_dims:
        o, d = w.shape
        for fraction in space.ranks:
            r = max(1, int(round(fraction * min(o, d))))
            if r * (o + d) >= max_ratio * o * d:
                continue
            u, v = _svd(w, r)
            first = uniform_candidate(v, 0, bits)
            second = uniform_candidate(u, 0, bits)
            scale, zero = _mid_params(patches @ first.real().T)
            found.append(Factorization(FactorKind.LOW_RANK, r, first, OpKind.FULLY_CONNECTED,
                                       FullyConnectedOptions(Activation.NONE), second, OpKind.FULLY_CONNECTED,
                                       op.options, (in_shape[0], r), scale, zero))
        return found
    if layer.kind is not OpKind.CONV_2D:
        return found
    o, kh, kw, i = w.shape
    opts = op.options
    if kh == 1 and kw == 1:
        matrix = w[:, 0, 0, :]
        for fraction in space.ranks:
            r = max(1, int(round(fraction * min(o, i))))
            if r * (o + i) >= max_ratio * o * i:
                continue
            u, v = _svd(matrix, r)
            first = uniform_candidate(v[:, None, None, :], 0, bits)
            second = uniform_candidate(u[:, None, None, :], 0, bits)
            scale, zero = _mid_params(patches @ first.real().reshape(r, -1).T)
            found.append(Factorization(
                FactorKind.LOW_RANK, r, first, OpKind.CONV_2D,
                dataclasses.replace(opts, activation=Activation.NONE), second, OpKind.CONV_2D,
                Conv2DOptions(Padding.VALID, 1, 1, 1, 1, opts.activation), out_shape[:3] + (r,), scale, zero))
        return found
    # SPATIAL: [(y, i), (x, o)]
    matrix = np.transpose(w, (1, 3, 2, 0)).reshape(kh * i, kw * o)
    p4 = patches.reshape(-1, kh, kw, i)
    for fraction in space.ranks:
        r = max(1, int(round(fraction * min(kh * i, kw * o))))
        if r * (kh * i + kw * o) >= max_ratio * w.size:
            continue
        left, right = _svd(matrix, r)
        a = np.transpose(left.reshape(kh, i, r), (2, 0, 1))[:, :, None, :]  # [r, kh, 1, i]
        b = np.transpose(right.reshape(r, kw, o), (2, 1, 0))[:, None, :, :]  # [o, 1, kw, r]
        first = uniform_candidate(a, 0, bits)
        second = uniform_candidate(b, 0, bits)
        mid = np.einsum("myxi,ryi->mxr", p4, first.real()[:, :, 0, :])
        scale, zero = _mid_params(mid)
        first_opts = Conv2DOptions(opts.padding, opts.stride_h, 1, opts.dilation_h, 1, Activation.NONE)
        second_opts = Conv2DOptions(opts.padding, 1, opts.stride_w, 1, opts.dilation_w, opts.activation)
        found.append(Factorization(FactorKind.SPATIAL, r, first, OpKind.CONV_2D, first_opts, second,
                                   OpKind.CONV_2D, second_opts, (1, out_shape[1], in_shape[2], r), scale, zero))
    # DEPTHWISE: per input channel rank m
    per_channel = np.transpose(w, (3, 0, 1, 2)).reshape(i, o, kh * kw)
    for m in (1, 2):
        if m > min(o, kh * kw) or (kh * kw * i * m + o * i * m) >= max_ratio * w.size:
            continue
        u, s, vt = np.linalg.svd(per_channel, full_matrices=False)  # batched over i
        root = np.sqrt(s[:, :m])
        p = u[:, :, :m] * root[:, None, :]          # [i, o, m]
        d = root[:, :, None] * vt[:, :m, :]          # [i, m, kh*kw]
        dw = np.transpose(d.reshape(i, m, kh, kw), (2, 3, 0, 1)).reshape(1, kh, kw, i * m)
        pw = np.transpose(p, (1, 0, 2)).reshape(o, 1, 1, i * m)
        first = uniform_candidate(dw, 3, bits)
        second = uniform_candidate(pw, 0, bits)
        dr = first.real()[0].reshape(kh * kw, i, m)
        mid = np.einsum("mki,kij->mij", patches.reshape(-1, kh * kw, i), dr).reshape(-1, i * m)
        scale, zero = _mid_params(mid)
        first_opts = DepthwiseConv2DOptions(opts.padding, opts.stride_h, opts.stride_w, opts.dilation_h,
                                            opts.dilation_w, m, Activation.NONE)
        second_opts = Conv2DOptions(Padding.VALID, 1, 1, 1, 1, opts.activation)
        found.append(Factorization(FactorKind.DEPTHWISE, m, first, OpKind.DEPTHWISE_CONV_2D, first_opts,
                                   second, OpKind.CONV_2D, second_opts, out_shape[:3] + (i * m,), scale, zero))
    return found


def factor_options(layer: Layer, space: SearchSpace, rate: RateFn, graph: Graph | None = None,
                   bits_choices: tuple[int, ...] = (4, 6, 8)) -> list[LayerOption]:
    """Factorized options of `layer` (empty when none is at least 30% smaller)."""
    if graph is None:
        return []
    op = graph.ops[layer.op_index]
    out_shape = graph.tensors[op.outputs[0]].shape
    in_shape = graph.tensors[op.inputs[0]].shape
    options = []
    for bits in bits_choices:
        for f in factorizations(layer, op, out_shape, in_shape, space, bits):
            size = (_candidate_bytes(f.first, rate) + _candidate_bytes(f.second, rate)
                    + bias_bytes(_bias_int32(layer, f.second.scale * f.mid_scale / layer.in_scale, None), rate)
                    + ACTIVATION_PARAMS_BYTES)
            d = distortion(layer.kind, layer.stats, f.effective_real() - layer.real)
            first = f.first
            options.append(LayerOption(layer.op_index, first, size, d,
                                       f"{f.kind.value} rank {f.rank}, uniform {bits}b", f))
    return options


def _candidate_bytes(cand: WeightCandidate, rate: RateFn) -> float:
    t = Tensor("w", cand.data.shape, DType.INT8,
               Quantization(cand.scale, np.zeros(cand.scale.size, dtype=np.int64), cand.axis),
               cand.data, encoding=cand.encoding)
    return tensor_bytes(t, rate)


def splice(g: Graph, layer: Layer, f: Factorization, shift: np.ndarray | None) -> None:
    """Replace op `layer.op_index` of `g` by the two ops of `f` (in place)."""
    op = g.ops[layer.op_index]
    name = g.tensors[op.inputs[1]].name

    def add(tensor: Tensor) -> int:
        g.tensors.append(tensor)
        return len(g.tensors) - 1

    def weights(cand: WeightCandidate, suffix: str) -> int:
        q = Quantization(cand.scale, np.zeros(cand.scale.size, dtype=np.int64), cand.axis)
        return add(Tensor(f"{name}/{suffix}", cand.data.shape, DType.INT8, q, cand.data, encoding=cand.encoding))

    first_w = weights(f.first, f"{f.kind.value}_a")
    second_w = weights(f.second, f"{f.kind.value}_b")
    mid = add(Tensor(f"{name}/{f.kind.value}_mid", f.mid_shape, DType.INT8,
                     Quantization(np.array([f.mid_scale]), np.array([f.mid_zero]))))
    first = Op(f.first_kind, (op.inputs[0], first_w), (mid,), f.first_options)
    bias_index = op.inputs[2] if len(op.inputs) > 2 else -1
    second = Op(f.second_kind, (mid, second_w, bias_index), op.outputs, f.second_options)
    g.ops[layer.op_index:layer.op_index + 1] = [first, second]
    bias_scale = np.float32(f.mid_scale) * f.second.scale.astype(np.float32)
    mid_layer = dataclasses.replace(layer, in_scale=np.float32(f.mid_scale))
    _set_bias(g, layer.op_index + 1, _bias_int32(mid_layer, f.second.scale, shift), bias_scale)
