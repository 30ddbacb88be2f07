"""The TFLite reader against LiteRT's own view of the MLPerf Tiny models, and on corrupt files."""
from __future__ import annotations

import numpy as np
import pytest

from host.errors import ModelError
from host.graph import DType, OpKind, UnsupportedModelError
from host.tflite import read_model, write_model
from host.tflite.schema import BUILTIN_OPERATOR_NAMES

litert = pytest.importorskip("ai_edge_litert.interpreter")

MODELS = [
    "kws_ref_model", "kws_ref_model_float32", "pretrainedResnet_quant", "pretrainedResnet",
    "vww_96_int8", "vww_96_float", "ad01_int8", "ad01_fp32",
]
INT8_MODELS = ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"]


def op_name(op) -> str:
    return op.options.source_kind if op.kind is OpKind.UNSUPPORTED else op.kind.value


@pytest.mark.parametrize("name", MODELS)
def test_reader_matches_litert(mlperf_tiny, name):
    path = mlperf_tiny / f"{name}.tflite"
    graph = read_model(path)
    interpreter = litert.Interpreter(model_path=str(path))
    details = interpreter.get_tensor_details()
    assert len(graph.tensors) == len(details)
    for d in details:
        t = graph.tensors[d["index"]]
        assert t.name == d["name"]
        assert t.shape == tuple(int(v) for v in d["shape"]), t.name
        assert t.dtype.numpy == np.dtype(d["dtype"]), t.name
        q = d["quantization_parameters"]
        if q["scales"].size:
            assert t.quantization is not None, t.name
            assert np.array_equal(t.quantization.scale, q["scales"]), t.name
            assert np.array_equal(t.quantization.zero_point, q["zero_points"]), t.name
            assert t.quantization.axis == q["quantized_dimension"], t.name
        else:
            assert t.quantization is None, t.name
        if t.data is not None:
            assert not t.data.flags.writeable  # zero-copy view of the model bytes
    ops = interpreter._get_ops_details()
    assert [op_name(op) for op in graph.ops] == [o["op_name"] for o in ops]
    for op, o in zip(graph.ops, ops):
        assert list(op.inputs) == [int(i) for i in o["inputs"]]
        assert list(op.outputs) == [int(i) for i in o["outputs"]]
    assert graph.inputs == [d["index"] for d in interpreter.get_input_details()]
    assert graph.outputs == [d["index"] for d in interpreter.get_output_details()]


@pytest.mark.parametrize("name", INT8_MODELS)
def test_constant_data_matches_litert(mlperf_tiny, name):
    path = mlperf_tiny / f"{name}.tflite"
    graph = read_model(path)
    interpreter = litert.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    for index, t in enumerate(graph.tensors):
        if t.data is not None:
            assert np.array_equal(t.data, interpreter.get_tensor(index)), t.name


def test_options_of_kws(mlperf_tiny):
    graph = read_model(mlperf_tiny / "kws_ref_model.tflite")
    first = graph.ops[0]
    assert first.kind is OpKind.CONV_2D
    o = first.options
    assert (o.stride_h, o.stride_w, o.padding.value, o.activation.value) == (2, 2, "SAME", "RELU")
    pool = next(op for op in graph.ops if op.kind is OpKind.AVERAGE_POOL_2D)
    assert (pool.options.filter_h, pool.options.filter_w) == graph.tensors[pool.inputs[0]].shape[1:3]
    softmax = graph.ops[-1]
    assert softmax.kind is OpKind.SOFTMAX and softmax.options.beta == 1.0


def test_hybrid_float_model_reads(mlperf_tiny):
    graph = read_model(mlperf_tiny / "kws_ref_model_float32.tflite")
    conv = graph.ops[0]
    assert graph.tensors[conv.inputs[0]].dtype is DType.FLOAT32
    assert graph.tensors[conv.inputs[1]].dtype is DType.INT8  # dynamic-range weights


def test_unsupported_ops_are_all_listed(mlperf_tiny):
    graph = read_model(mlperf_tiny / "kws_ref_model.tflite")
    data = bytearray(write_model(graph))
    # Re-code two ops (RESHAPE -> SQUEEZE, SOFTMAX -> TANH) by patching the operator codes.
    reshape = next(i for i, op in enumerate(graph.ops) if op.kind is OpKind.RESHAPE)
    softmax = next(i for i, op in enumerate(graph.ops) if op.kind is OpKind.SOFTMAX)
    squeeze = BUILTIN_OPERATOR_NAMES.index("SQUEEZE")
    tanh = BUILTIN_OPERATOR_NAMES.index("TANH")
    data = _recode(data, {22: squeeze, 25: tanh})
    with pytest.raises(UnsupportedModelError) as info:
        read_model(bytes(data))
    problems = info.value.problems
    kinds = sorted(p.where.split()[2] for p in problems)
    assert kinds == ["SQUEEZE", "TANH"]
    assert all(p.op_index is not None for p in problems)
    message = str(info.value)
    assert f"op {reshape} SQUEEZE" in message and f"op {softmax} TANH" in message
    assert "Identity" in message or "StatefulPartitionedCall" in message  # tensor names
    # validate=False gives the graph with the unsupported ops marked.
    loose = read_model(bytes(data), validate=False)
    assert [op.kind for op in loose.ops].count(OpKind.UNSUPPORTED) == 2


def _recode(data: bytearray, mapping: dict[int, int]) -> bytearray:
    """Change builtin codes in the OperatorCode tables of a model written by write_model."""
    from host.tflite.flatbuffer import Buffer
    from host.tflite.schema import Slot
    buf = Buffer(bytes(data))
    model = buf.root("Model")
    for table in model.tables(Slot.MODEL_OPERATOR_CODES, "operator_codes"):
        for slot, size in ((Slot.OPCODE_DEPRECATED_BUILTIN, 1), (Slot.OPCODE_BUILTIN, 4)):
            pos = table._field(slot)
            value = int.from_bytes(data[pos:pos + size], "little", signed=True)
            if value in mapping:
                new = mapping[value]
                data[pos:pos + size] = (min(new, 127) if size == 1 else new).to_bytes(size, "little", signed=True)
    return data


def test_not_a_model():
    with pytest.raises(ModelError, match="too short"):
        read_model(b"TFL3")
    with pytest.raises(ModelError, match="file identifier"):
        read_model(b"\x10\0\0\0ONNX" + bytes(64))
    with pytest.raises(ModelError, match="cannot read model"):
        read_model("/nonexistent/model.tflite")


@pytest.mark.parametrize("name", ["kws_ref_model", "pretrainedResnet_quant"])
def test_truncated_files_raise_model_error(mlperf_tiny, name):
    data = (mlperf_tiny / f"{name}.tflite").read_bytes()
    lengths = sorted(set(range(0, 64)) | set(range(64, len(data), max(1, len(data) // 300))))
    for length in lengths:
        with pytest.raises(ModelError):
            read_model(data[:length])


@pytest.mark.parametrize("name", ["kws_ref_model", "ad01_int8"])
def test_flipped_bytes_never_crash(mlperf_tiny, name):
    """Random byte flips: either a graph comes back or ModelError; nothing else escapes."""
    data = (mlperf_tiny / f"{name}.tflite").read_bytes()
    rng = np.random.default_rng(2024)
    errors = 0
    # The first 4 KB hold the tables; flips there exercise every reader path.
    head = min(len(data), 4096)
    for trial in range(400):
        corrupt = bytearray(data)
        for pos in rng.integers(0, head, size=int(rng.integers(1, 4))):
            corrupt[pos] ^= int(rng.integers(1, 256))
        try:
            read_model(bytes(corrupt))
        except ModelError:
            errors += 1
    assert errors > 0
