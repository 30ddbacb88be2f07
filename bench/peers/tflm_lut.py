"""TensorFlow Lite Micro's look-up-table (LUT) compression at 4 bits, run by the real tool.

TFLM's compressor (`tflite_micro.tensorflow.lite.micro.compression`, in the tflite-micro
wheel) only re-encodes: a tensor whose values already fit 2**bits entries per table becomes
bit-packed indices plus a value table, and a DECODE (custom "TFLM_DECODE") operator is
inserted before its consumer. Choosing the 16 values is left to the user; here each weight
tensor (the int8 filters of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED) is clustered
beforehand by 1-D k-means (Lloyd's algorithm on the level histogram, quantile start, centres
rounded to int8 levels), per output channel when the tensor has per-channel scales, else over
the whole tensor: TFLM's DECODE kernel takes the number of tables from the tensor's
quantization parameters, so a per-channel table on a per-tensor-quantized tensor decodes
wrongly (measured: the MLPerf KWS FC layer).

Old models that store operator codes in `deprecated_builtin_code` (MLPerf KWS) are first
normalised (builtin_code = max of the two, as the TFLite schema prescribes): the tool's model
editor reads `builtin_code` only and would otherwise merge every operator code into one.

The compressed model runs in TFLM's own Python interpreter (`tflite_micro.runtime`), which
has the DECODE operator; the bench reports those outputs.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np

from bench.peers import PeerError

#: Index width of every table (TFLM LUT supports 1..7).
BITS = 4

#: Lloyd iterations (the histogram has at most 256 bins; it converges well before).
_ITERATIONS = 40


@dataclass(frozen=True)
class LutModel:
    """A model compressed by TFLM's tool.

    `tflite` is the compressed flatbuffer as the tool wrote it; `clustered` the int8 model with
    the clustered weights before compression (same values, no DECODE); `buffer_bytes` the sum
    of the compressed model's buffers (packed indices, value tables with their 16-byte headers,
    biases and other constants: the data without the flatbuffer's graph structure);
    `tensors` how many weight tensors were compressed, `per_channel` how many of them with one
    table per output channel.
    """

    tflite: bytes
    clustered: bytes
    buffer_bytes: int
    tensors: int
    per_channel: int


def _modules():
    """Import the tool, its schema and the flatbuffers runtime; raises PeerError if missing."""
    try:
        import flatbuffers
        from tflite_micro.tensorflow.lite.micro.compression import spec
        from tflite_micro.tensorflow.lite.micro.compression.compress import compress
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    except ImportError as exc:
        raise PeerError("the tflite-micro compression tool is not installed",
                        hint="pip install tflite-micro pyyaml flatbuffers") from exc
    return flatbuffers, spec, compress, schema


def cluster_levels(values: np.ndarray, count: int = 2 ** BITS) -> np.ndarray:
    """Map int8 `values` onto at most `count` int8 levels chosen by 1-D k-means.

    Values with at most `count` distinct levels are returned unchanged. The result has the
    shape of `values`, dtype int8. Raises PeerError for an empty or non-integer input.
    """
    values = np.asarray(values)
    if values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise PeerError("k-means clustering needs a non-empty integer array")
    levels, counts = np.unique(values.astype(np.int64), return_counts=True)
    if levels.size <= count:
        return values.astype(np.int8)
    weights = counts.astype(np.float64)
    cumulative = np.cumsum(weights) / weights.sum()
    centres = levels[np.searchsorted(cumulative, (np.arange(count) + 0.5) / count)].astype(np.float64)
    centres = np.unique(centres)
    for _ in range(_ITERATIONS):
        nearest = np.abs(levels[:, None] - centres[None, :]).argmin(axis=1)
        sums = np.bincount(nearest, weights * levels, minlength=centres.size)
        mass = np.bincount(nearest, weights, minlength=centres.size)
        moved = np.where(mass > 0, sums / np.maximum(mass, 1e-300), centres)
        if np.allclose(moved, centres):
            break
        centres = moved
    table = np.unique(np.clip(np.round(centres), -128, 127))
    mapped = table[np.abs(levels[:, None] - table[None, :]).argmin(axis=1)]
    lookup = dict(zip(levels.tolist(), mapped.tolist()))
    flat = np.fromiter((lookup[v] for v in values.ravel().tolist()), dtype=np.int8, count=values.size)
    return flat.reshape(values.shape)


def _weight_ops(schema) -> set[int]:
    ops = schema.BuiltinOperator
    return {ops.CONV_2D, ops.DEPTHWISE_CONV_2D, ops.FULLY_CONNECTED}


def _cluster_tensor(model, tensor, depthwise: bool) -> tuple[int | None, np.ndarray]:
    """Cluster one weight tensor in place; return its table axis (None: one table) and levels."""
    shape = tuple(int(d) for d in tensor.shape)
    buffer = model.buffers[tensor.buffer]
    levels = np.frombuffer(bytes(bytearray(buffer.data)), dtype=np.int8).reshape(shape)
    scales = tensor.quantization.scale if tensor.quantization is not None else None
    channels = 0 if scales is None else len(scales)
    axis = None
    if channels > 1:
        axis = int(tensor.quantization.quantizedDimension)
        if depthwise and axis != len(shape) - 1 or channels != shape[axis]:
            raise PeerError(f"weight tensor {tensor.name!r}: {channels} scales on axis {axis} of {shape}")
    if axis is None:
        clustered = cluster_levels(levels)
    else:
        moved = np.moveaxis(levels, axis, 0)
        clustered = np.moveaxis(np.stack([cluster_levels(row) for row in moved]), 0, axis)
    buffer.data = np.frombuffer(np.ascontiguousarray(clustered).tobytes(), dtype=np.uint8)
    return axis, clustered


def compress_lut(model_bytes: bytes) -> LutModel:
    """Cluster every int8 weight tensor of the int8 .tflite `model_bytes` to 16 values per
    table and compress it with TFLM's tool at 4 bits per index.

    Raises:
        PeerError: the tool is not installed, the model cannot be read, a weight tensor is not
            int8 or has inconsistent quantization, or the tool rejected the model.
    """
    flatbuffers, spec, tool_compress, schema = _modules()
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    except Exception as exc:  # noqa: BLE001 - the generated reader raises anything on garbage
        raise PeerError(f"not a .tflite model: {exc}") from exc
    for code in model.operatorCodes:
        code.builtinCode = max(code.builtinCode, code.deprecatedBuiltinCode)
    wanted = _weight_ops(schema)
    specs, seen, per_channel = [], set(), 0
    for index, subgraph in enumerate(model.subgraphs):
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex].builtinCode
            if code not in wanted or len(op.inputs) < 2 or (index, int(op.inputs[1])) in seen:
                continue
            tensor_index = int(op.inputs[1])
            tensor = subgraph.tensors[tensor_index]
            if tensor.type != schema.TensorType.INT8 or tensor.buffer == 0 or model.buffers[tensor.buffer].data is None:
                continue
            seen.add((index, tensor_index))
            axis, _ = _cluster_tensor(model, tensor, code == schema.BuiltinOperator.DEPTHWISE_CONV_2D)
            mode = spec.PerTensor() if axis is None else spec.PerChannel(axis)
            per_channel += axis is not None
            specs.append(spec.Tensor(index, tensor_index, [spec.LookUpTableCompression(BITS, mode)]))
    if not specs:
        raise PeerError("the model has no int8 weight tensors to compress")
    builder = flatbuffers.Builder(len(model_bytes))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    clustered = bytes(builder.Output())
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")  # "expansion" warnings on small tensors: sizes are reported;
            # its "index_bitwidth larger than necessary" notes go to stderr
            compressed = bytes(tool_compress(clustered, specs))
    except Exception as exc:  # noqa: BLE001 - the tool raises CompressionError and others
        raise PeerError(f"TFLM's compressor rejected the model: {exc}") from exc
    out = schema.ModelT.InitFromPackedBuf(bytearray(compressed), 0)
    data = sum(len(b.data) for b in out.buffers if b.data is not None)
    return LutModel(compressed, clustered, int(data), len(specs), per_channel)


def run_tflm(model_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    """Run `model_bytes` in TFLM's Python interpreter on each sample of `inputs` (one per row,
    without the batch axis, in the model's input dtype); return the raw outputs stacked.

    Raises PeerError when the interpreter is not installed or rejects the model.
    """
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:
        raise PeerError("the tflite-micro interpreter is not installed", hint="pip install tflite-micro") from exc
    try:
        interpreter = runtime.Interpreter.from_bytes(bytes(model_bytes))
        rows = []
        for sample in inputs:
            interpreter.set_input(sample[None, ...], 0)
            interpreter.invoke()
            rows.append(np.array(interpreter.get_output(0), copy=True))
    except (RuntimeError, ValueError) as exc:
        raise PeerError(f"TFLM could not run the model: {exc}") from exc
    return np.concatenate(rows, axis=0)
