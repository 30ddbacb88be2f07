"""NNCodec 2.1.3 as a lossy compressor: its quantizer and DeepCABAC coder at one step size.

NNCodec quantizes float weights with one quantization parameter `qp` for the whole model
(step = (4 + qp mod 4) * 2**(qp div 4 - 2) with qp_density 2, its default), by its 8-state
dependent (trellis-coded) quantizer (dq_flag 1, its default and best setting; lambda_scale 0),
and codes each tensor as one CABAC stream. Non-weight parameters (biases) get `qp - 8`, a
step four times finer, as `nnc.compress` does. Here the weight tensors are the filters of
CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (rows = output channels); their biases are
coded too when the model is float. The reconstruction (level * step) is put back into the
model and measured in our own path:
- a float model keeps the reconstructed float weights and biases (the float reference
  interpreter runs it);
- an int8 model gets the reconstruction re-quantized onto each tensor's own int8 scales (what
  a device running int8 kernels would load); its int32 biases stay as they are and are
  counted at 4 bytes each.

Sizes are the CABAC payloads (no NNR unit headers; qp and the unary length travel out of
band, as in bench/peers/nncodec_peer.py), each decoded and checked with `==` before it counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.peers import PeerError
from bench.peers.nncodec_peer import UNARY_LENGTHS, _module
from host.graph import DType, Graph, OpKind
from host.passes.rewrite import clone

QP_DENSITY = 2
#: NNCodec's qp offset of non-weight parameters (2 << qp_density: a step 4x finer).
BIAS_QP_OFFSET = 2 << QP_DENSITY
_WEIGHT_OPS = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)
_PAD = 64


@dataclass(frozen=True)
class Coded:
    """A model coded by NNCodec at `qp`: the graph with the reconstructed weights, the coded
    bytes of its weights and of its biases (raw int32 bytes for an int8 model)."""

    qp: int
    graph: Graph
    weight_bytes: int
    bias_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.bias_bytes


def step_size(qp: int) -> float:
    """NNCodec's quantization step for `qp` (qp_density 2)."""
    k = 1 << QP_DENSITY
    return float((k + (qp & (k - 1))) * 2.0 ** ((qp >> QP_DENSITY) - QP_DENSITY))


def _rows(array: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(array, axis, 0)
    return np.ascontiguousarray(moved.reshape(moved.shape[0], -1))


def _unrows(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    moved_shape = (shape[axis],) + tuple(d for i, d in enumerate(shape) if i != axis)
    return np.moveaxis(rows.reshape(moved_shape), 0, axis)


def _quantize(values: np.ndarray, qp: int) -> np.ndarray:
    """NNCodec's dependent quantization of the 2-D float32 `values` at `qp` (int32 indices)."""
    deep = _module()
    values = np.ascontiguousarray(values, dtype=np.float32)
    indices = np.zeros(values.shape, dtype=np.int32)
    encoder = deep.Encoder()
    encoder.initCtxModels(10, 0)
    used = encoder.quantLayer(values, indices, 1, QP_DENSITY, qp, 0.0, 10, 0, 0)
    if used != qp:
        raise PeerError(f"NNCodec clipped qp {qp} to {used} for a {values.shape} tensor")
    return indices


def _encode(indices: np.ndarray, unary: int) -> bytes:
    deep = _module()
    hdsp_off = (deep.HdspMode.AlwaysOff, np.zeros(2, dtype=np.int8))
    encoder = deep.Encoder()
    encoder.initCtxModels(unary, 1)
    encoder.encodeLayer(indices, 1, 0, 0, 0, 0, np.zeros(indices.shape[0], dtype=np.int32), *hdsp_off, 0, 0)
    return encoder.finish().tobytes()


def _decode(payload: bytes, shape: tuple[int, int], unary: int) -> np.ndarray:
    deep = _module()
    hdsp_off = (deep.HdspMode.AlwaysOff, np.zeros(2, dtype=np.int8))
    out = np.zeros(shape, dtype=np.int32)
    decoder = deep.Decoder()
    decoder.setStream(np.frombuffer(bytes(payload) + bytes(_PAD), dtype=np.uint8))
    decoder.initCtxModels(unary)
    decoder.decodeLayer(out, 1, 0, 0, 0, *hdsp_off, 0, 0)
    if decoder.finish() != len(payload):
        raise PeerError("NNCodec's decoder did not end where its stream ends")
    return out


def coded_size(indices: np.ndarray, best: bool) -> int:
    """Bytes of the smallest checked CABAC stream of `indices` (every unary length when
    `best`, else NNCodec's default 11). Raises PeerError when a stream does not decode back."""
    sizes = []
    for unary in (UNARY_LENGTHS if best else (11,)):
        payload = _encode(indices, unary)
        sizes.append((len(payload), unary, payload))
    size, unary, payload = min(sizes, key=lambda s: s[0])
    if not np.array_equal(_decode(payload, indices.shape, unary), indices):
        raise PeerError(f"NNCodec did not decode a {indices.shape} tensor back exactly")
    return size


def _weight_axis(graph: Graph, op) -> int:
    tensor = graph.tensors[op.inputs[1]]
    if op.kind is OpKind.DEPTHWISE_CONV_2D:
        return len(tensor.shape) - 1
    if tensor.quantization is not None and tensor.quantization.per_channel:
        return int(tensor.quantization.axis)
    return 0


def code_model(graph: Graph, qp: int, best: bool = False) -> Coded:
    """Quantize and code every weight tensor of `graph` (float32 or int8) at `qp` and return
    the graph with the reconstructions and the bytes (see the module docstring).

    Raises PeerError when NNCodec is missing, clips the qp, or does not decode its stream back.
    """
    out = clone(graph)
    weight_bytes = bias_bytes = 0
    seen: set[int] = set()
    for op in graph.ops:
        if op.kind not in _WEIGHT_OPS or len(op.inputs) < 2 or op.inputs[1] in seen:
            continue
        tensor = graph.tensors[op.inputs[1]]
        if tensor.data is None:
            continue
        seen.add(op.inputs[1])
        axis = _weight_axis(graph, op)
        if tensor.dtype is DType.FLOAT32:
            real = tensor.data.astype(np.float32)
        elif tensor.dtype is DType.INT8:
            q = tensor.quantization
            scale = np.asarray(q.scale, dtype=np.float64).reshape(-1)
            zero = np.asarray(q.zero_point, dtype=np.float64).reshape(-1)
            shape = [1] * tensor.data.ndim
            if scale.size > 1:
                shape[q.axis] = scale.size
            real = ((tensor.data.astype(np.float64) - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)
        else:
            raise PeerError(f"weight tensor {tensor.name!r} is {tensor.dtype.value}; NNCodec here takes float32 or int8")
        indices = _quantize(_rows(real, axis), qp)
        weight_bytes += coded_size(indices, best)
        recon = _unrows(indices.astype(np.float64) * step_size(qp), tensor.shape, axis)
        replaced = out.tensors[op.inputs[1]]
        if tensor.dtype is DType.FLOAT32:
            replaced.data = recon.astype(np.float32)
        else:
            levels = np.round(recon / scale.reshape(shape)) + zero.reshape(shape)
            replaced.data = np.clip(levels, -127, 127).astype(np.int8)
        replaced.encoding = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0 and op.inputs[2] not in seen:
            bias = graph.tensors[op.inputs[2]]
            if bias.data is None:
                continue
            seen.add(op.inputs[2])
            if bias.dtype is DType.FLOAT32:
                b_idx = _quantize(bias.data.astype(np.float32).reshape(1, -1), qp - BIAS_QP_OFFSET)
                bias_bytes += coded_size(b_idx, best)
                out.tensors[op.inputs[2]].data = (b_idx.astype(np.float64) * step_size(qp - BIAS_QP_OFFSET)
                                                  ).reshape(bias.shape).astype(np.float32)
            else:
                bias_bytes += int(bias.data.nbytes)
    if not seen:
        raise PeerError("the model has no constant weight tensors")
    return Coded(qp, out, weight_bytes, bias_bytes)


def search_qp(graph: Graph, score, floor: float, low: int = -96, high: int = 8) -> tuple[Coded, float, int]:
    """The largest qp in [low, high] whose coded model scores >= `floor` (`score(graph)` ->
    float), by bisection (accuracy falls as the step grows); returns the model coded at that qp
    with the best unary lengths, its score and the number of evaluations.

    Raises PeerError when even `low` (the finest step) scores below `floor`.
    """
    evaluations = 1
    best_score = score(code_model(graph, low).graph)
    if best_score < floor:
        raise PeerError(f"NNCodec at qp {low} scores {best_score:.2f} < {floor:.2f}")
    good, bad = low, high + 1
    while bad - good > 1:
        mid = (good + bad) // 2
        evaluations += 1
        value = score(code_model(graph, mid).graph)
        if value >= floor:
            good, best_score = mid, value
        else:
            bad = mid
    final = code_model(graph, good, best=True)
    return final, best_score, evaluations
