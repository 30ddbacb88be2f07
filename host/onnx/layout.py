"""How an ONNX activation is stored in the graph IR: axis permutation and feature order.

ONNX convolutions are NCHW; the graph IR (TensorFlow Lite semantics) is NHWC. Every lowered
activation is an `Activation`: the graph tensor that holds it, its ONNX (logical) shape, and
how the stored tensor's axes relate to the ONNX axes:
- `perm`: stored axis i holds ONNX axis perm[i] (NHWC storage of an NCHW value: (0, 2, 3, 1));
- `feature_order` (rank-2 values only): stored feature j holds ONNX feature feature_order[j].
  Flattening an NHWC-stored NCHW tensor without a transpose gives features in HWC order; the
  next FULLY_CONNECTED layer absorbs the order by permuting its weight columns.
No data is ever transposed at run time (the device has no TRANSPOSE op): ONNX Transpose nodes
only relabel the layout, and a node whose result would need a real transpose is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NHWC = (0, 2, 3, 1)


@dataclass(frozen=True, eq=False)
class Activation:
    """A lowered, non-constant ONNX value held by graph tensor `index`."""

    index: int
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    feature_order: np.ndarray | None = None

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def stored_shape(self) -> tuple[int, ...]:
        return stored_shape(self.shape, self.perm)

    @property
    def is_plain(self) -> bool:
        """Stored exactly as ONNX lays it out (no permutation, no feature order)."""
        return self.perm == identity(self.rank) and self.feature_order is None

    def stored_axis(self, onnx_axis: int) -> int:
        """The stored axis holding ONNX axis `onnx_axis` (negative counts from the end)."""
        return self.perm.index(onnx_axis % self.rank)

    def same_layout(self, other: "Activation") -> bool:
        if self.perm != other.perm or (self.feature_order is None) != (other.feature_order is None):
            return False
        return self.feature_order is None or np.array_equal(self.feature_order, other.feature_order)


def identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


def default_perm(rank: int) -> tuple[int, ...]:
    """The storage a fresh value of this rank gets: NHWC for 4-D (convolution input), else as is."""
    return NHWC if rank == 4 else identity(rank)


def stored_shape(shape: tuple[int, ...], perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[a] for a in perm)


def flat_order(shape: tuple[int, ...], perm: tuple[int, ...], feature_order: np.ndarray | None = None) -> np.ndarray:
    """For each stored element (row-major), the row-major ONNX index of the value it holds."""
    base = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    if feature_order is not None:
        base = base[..., feature_order]
    return base.transpose(perm).reshape(-1)


def constant_for(value: Activation, array: np.ndarray) -> np.ndarray:
    """An ONNX constant that broadcasts against `value`, laid out to broadcast against its storage.

    The constant is extended to the value's rank (leading 1s) and permuted like it; a rank-2
    value with a feature order gets the constant's features reordered. Raises ValueError when
    the constant has a higher rank than the value or does not broadcast to its shape.
    """
    array = np.asarray(array)
    if array.ndim > value.rank:
        raise ValueError(f"constant of shape {array.shape} has a higher rank than the activation {value.shape}")
    array = array.reshape((1,) * (value.rank - array.ndim) + array.shape)
    if np.broadcast_shapes(array.shape, value.shape) != value.shape:
        raise ValueError(f"constant of shape {array.shape} does not broadcast to the activation {value.shape}")
    if value.feature_order is not None and array.shape[-1] != 1:
        array = array[..., value.feature_order]
    return np.ascontiguousarray(array.transpose(value.perm))
