"""A trained model file, whatever its format: `read_model_file` picks the reader by content.

TFLite flatbuffers (file identifier "TFL3") go to host.tflite, ONNX protobufs (a `.onnx`
name, or bytes that start like a ModelProto) to host.onnx. Both give the same graph IR. An
ONNX model's 4-D inputs are NCHW while the graph stores them NHWC: `ModelFile.samples` lays
out data given as the source model takes it for the graph (docs/compression.md, "ONNX import").
"""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.container.layout import MAGIC as _DCB_MAGIC
from host.errors import DataError, ModelError
from host.graph import Graph

_TFLITE_IDENTIFIER = b"TFL3"
_ONNX_FIRST_BYTE = 0x08  # field 1 (ir_version), varint: how every ModelProto writer starts


class ModelFormat(enum.Enum):
    TFLITE = "tflite"
    ONNX = "onnx"


@dataclass(frozen=True)
class ModelFile:
    """A model read from a file: its graph, format and bytes, and the layout of its input.

    `source_shape` is the graph input's shape as the source model declares it (batch 1) and
    `input_perm` maps the graph's stored axes to the source axes (stored axis k holds source
    axis input_perm[k]); the identity for TFLite models and non-4-D ONNX inputs.
    """

    graph: Graph
    format: ModelFormat
    data: bytes
    source_shape: tuple[int, ...]
    input_perm: tuple[int, ...]

    @property
    def graph_shape(self) -> tuple[int, ...]:
        return tuple(self.graph.tensors[self.graph.inputs[0]].shape) if self.graph.inputs else ()

    def samples(self, x: np.ndarray) -> np.ndarray:
        """`x` [N, *sample shape] in the graph input's layout.

        Samples shaped as the source model takes them (ONNX: NCHW) are transposed to the
        graph's NHWC; samples already in the graph's layout are returned unchanged. Raises
        `DataError` when an ONNX model's 4-D input gets samples of neither shape.
        """
        x = np.asarray(x)
        if self.input_perm == tuple(range(len(self.input_perm))) or x.ndim == 0:
            return x
        source, stored = self.source_shape[1:], self.graph_shape[1:]
        if tuple(x.shape[1:]) == source:
            return np.ascontiguousarray(x.transpose(self.input_perm))
        if tuple(x.shape[1:]) == stored:
            return x
        raise DataError(f"'x' has samples of shape {tuple(x.shape[1:])}; the ONNX model takes {source} per "
                        f"sample (NCHW), or {stored} in the device's NHWC layout",
                        hint=f"reshape x to {(x.shape[0],) + source}")


def model_format(data: bytes, name: str | None = None) -> ModelFormat:
    """The format of model bytes: by content first, then by the file name's suffix.

    Raises `ModelError` for a .dcb container and for bytes that are neither TFLite nor ONNX.
    """
    if len(data) >= 8 and bytes(data[4:8]) == _TFLITE_IDENTIFIER:
        return ModelFormat.TFLITE
    if bytes(data[:len(_DCB_MAGIC)]) == _DCB_MAGIC:
        raise ModelError("this is a .dcb container, not a model", hint="pass the .tflite or .onnx model it came from")
    suffix = Path(name).suffix.lower() if name else ""
    if suffix == ".onnx" or (suffix != ".tflite" and len(data) and data[0] == _ONNX_FIRST_BYTE):
        return ModelFormat.ONNX
    if suffix == ".tflite":
        return ModelFormat.TFLITE
    raise ModelError("not a TFLite or ONNX model (no TFLite file identifier, not an ONNX protobuf)",
                     hint="pass a .tflite flatbuffer or a .onnx model")


def read_model_file(source: str | os.PathLike | bytes, *, name: str | None = None) -> ModelFile:
    """Read a TFLite or ONNX model (a path, or bytes with an optional file `name`).

    Raises `ModelError` when the file cannot be read, is corrupt or of another kind, and
    `UnsupportedModelError` (a `ModelError`) listing every unsupported op before any work.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    if model_format(data, name) is ModelFormat.TFLITE:
        from host.tflite import read_model

        graph = read_model(data)
        shape = tuple(graph.tensors[graph.inputs[0]].shape) if graph.inputs else ()
        return ModelFile(graph, ModelFormat.TFLITE, data, shape, tuple(range(len(shape))))
    from host.onnx import read_onnx

    model = read_onnx(data)
    shape = model.input_shapes[0] if model.input_shapes else ()
    perm = model.input_perms[0] if model.input_perms else ()
    return ModelFile(model.graph, ModelFormat.ONNX, data, shape, perm)
