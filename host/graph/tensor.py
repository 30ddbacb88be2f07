"""Tensors of the graph IR: element types, quantization parameters, optional constant data."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from host.graph.encoding import TensorEncoding


class DType(enum.Enum):
    """Element types a graph tensor may have (the numpy dtype is `DType.numpy`)."""

    INT8 = "int8"
    UINT8 = "uint8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT16 = "float16"
    FLOAT32 = "float32"
    BOOL = "bool"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)

    @property
    def is_float(self) -> bool:
        return self in (DType.FLOAT16, DType.FLOAT32)


@dataclass(eq=False)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel.

    `scale` is float32 and `zero_point` int64, both of length 1 (per tensor) or of the size of
    dimension `axis` (per channel; TFLite's `quantized_dimension`).
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0

    def __post_init__(self) -> None:
        self.scale = np.asarray(self.scale, dtype=np.float32).reshape(-1)
        self.zero_point = np.asarray(self.zero_point, dtype=np.int64).reshape(-1)

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    def single(self) -> tuple[float, int]:
        """(scale, zero_point) of a per-tensor quantization as Python float32-valued numbers."""
        return float(self.scale[0]), int(self.zero_point[0])

    def same_as(self, other: "Quantization | None") -> bool:
        return (
            other is not None
            and self.axis == other.axis
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
        )


@dataclass(eq=False)
class Tensor:
    """One tensor: `data` is set for constants (weights, biases, shape operands), else None.

    `shape_signature` keeps dynamic dimensions (-1) when the source model had them.
    `encoding` is set on compressed weights (and scaled int32 biases): the levels and the rule
    that rebuild `data` exactly (host/graph/encoding.py); validation checks that they do.
    """

    name: str
    shape: tuple[int, ...]
    dtype: DType
    quantization: Quantization | None = None
    data: np.ndarray | None = None
    shape_signature: tuple[int, ...] | None = None
    is_variable: bool = False
    encoding: TensorEncoding | None = None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))
