"""Parse ONNX bytes (protobuf, through the `onnx` package) into checked, bounded parts.

The file is parsed from bytes only (no external data files are opened), its size and every
tensor are bounded, and each failure is a `ModelError`: corrupt or truncated protobuf, a file
that is not an ONNX model, the ONNX checker's objections, tensors whose data does not match
their shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.errors import ModelError

MAX_MODEL_BYTES = 1 << 30
MAX_NODES = 100_000
MAX_RANK = 8
MAX_ELEMENTS = 1 << 28  # of one constant tensor

# ONNX TensorProto element types the importer reads (1 FLOAT, 7 INT64, ...): name and numpy dtype.
ELEMENT_TYPES = {1: ("float32", np.float32), 2: ("uint8", np.uint8), 3: ("int8", np.int8),
                 5: ("int16", np.int16), 6: ("int32", np.int32), 7: ("int64", np.int64),
                 9: ("bool", np.bool_), 10: ("float16", np.float16), 11: ("float64", np.float64)}
FLOAT = 1


@dataclass(frozen=True)
class GraphInput:
    """A graph input that is not an initializer: element type and dims (None: dynamic)."""

    name: str
    elem_type: int
    dims: tuple[int | None, ...] | None


@dataclass(frozen=True)
class ParsedModel:
    """A checked ONNX model: the protobuf, its default-domain opset and its constants."""

    proto: object  # onnx.ModelProto
    opset: int
    initializers: dict[str, np.ndarray]
    inputs: tuple[GraphInput, ...]
    outputs: tuple[str, ...]

    @property
    def nodes(self):
        return self.proto.graph.node


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ModelError("reading ONNX models needs the 'onnx' package",
                         hint="pip install 'dcagent[onnx]' (or: pip install onnx)") from exc
    return onnx


def parse_model(data: bytes | bytearray | memoryview) -> ParsedModel:
    """Parse and check ONNX model bytes.

    Raises `ModelError` when the bytes are too large, not a protobuf ModelProto (corrupt or
    truncated), not an ONNX model (no graph, no default-domain opset), rejected by the ONNX
    checker, or hold constants with external data, sparse storage, inconsistent sizes or
    too many elements.
    """
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    size = len(data)
    if size == 0:
        raise ModelError("not an ONNX model: the file is empty")
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"ONNX model of {size} bytes is larger than the {MAX_MODEL_BYTES} bytes supported")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"corrupt or truncated ONNX file ({size} bytes): {exc}",
                         hint="re-export the model; the file may have been cut short") from exc
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise ModelError("not an ONNX model: no IR version or no graph",
                         hint="pass a .onnx model (ModelProto) or a .tflite flatbuffer")
    opset = _default_opset(model)
    graph = model.graph
    if len(graph.node) > MAX_NODES:
        raise ModelError(f"ONNX graph has {len(graph.node)} nodes; at most {MAX_NODES} are supported")
    if len(graph.sparse_initializer):
        raise ModelError("ONNX sparse initializers are not supported", hint="store the constants dense")
    _refuse_external_data(onnx, graph)  # before the checker, which would look for the files
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, UnicodeDecodeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"invalid ONNX model: {first}") from exc
    initializers = {t.name: tensor_array(t, f"initializer {t.name!r}") for t in graph.initializer}
    inputs = tuple(_graph_input(v) for v in graph.input if v.name not in initializers)
    outputs = tuple(v.name for v in graph.output)
    if not outputs:
        raise ModelError("ONNX graph has no outputs")
    return ParsedModel(model, opset, initializers, inputs, outputs)


def _refuse_external_data(onnx, graph) -> None:
    tensors = list(graph.initializer) + [a.t for node in graph.node for a in node.attribute if a.HasField("t")]
    for tensor in tensors:
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            raise ModelError(f"tensor {tensor.name!r} keeps its data in an external file, which is not supported",
                             hint="save the model with all tensors inside the file (save_as_external_data=False)")


def _default_opset(model) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ModelError("not an ONNX model: it imports no opset of the default (ai.onnx) domain")
    return int(versions[0])


def _graph_input(value) -> GraphInput:
    kind = value.type.WhichOneof("value") if value.HasField("type") else None
    if kind != "tensor_type":
        return GraphInput(value.name, 0, None)
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        return GraphInput(value.name, tensor_type.elem_type, None)
    dims = []
    for d in tensor_type.shape.dim:
        known = d.WhichOneof("value") == "dim_value" and d.dim_value > 0
        dims.append(int(d.dim_value) if known else None)
    return GraphInput(value.name, tensor_type.elem_type, tuple(dims))


def tensor_array(tensor, where: str) -> np.ndarray:
    """The numpy value of an ONNX TensorProto held in the file.

    Raises `ModelError` for external data, unsupported element types, a rank above 8, more
    than MAX_ELEMENTS elements, or data that does not fill the declared shape.
    """
    onnx = _onnx()
    from onnx import numpy_helper

    if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
        raise ModelError(f"{where} keeps its data in an external file, which is not supported",
                         hint="save the model with all tensors inside the file (save_as_external_data=False)")
    if tensor.data_type not in ELEMENT_TYPES:
        name = onnx.TensorProto.DataType.Name(tensor.data_type) if tensor.data_type in \
            onnx.TensorProto.DataType.values() else str(tensor.data_type)
        raise ModelError(f"{where} has element type {name}, which is not supported")
    dims = tuple(int(d) for d in tensor.dims)
    if len(dims) > MAX_RANK or any(d < 0 for d in dims):
        raise ModelError(f"{where} has an invalid shape {dims}")
    count = int(np.prod(dims, dtype=np.float64))
    if count > MAX_ELEMENTS:
        raise ModelError(f"{where} has {count} elements; at most {MAX_ELEMENTS} are supported")
    try:
        array = numpy_helper.to_array(tensor)
    except (ValueError, TypeError, IndexError) as exc:
        raise ModelError(f"corrupt ONNX tensor: {where} of shape {dims}: {exc}") from exc
    if tuple(array.shape) != dims:
        raise ModelError(f"corrupt ONNX tensor: {where} holds {array.size} values for shape {dims}")
    return array
