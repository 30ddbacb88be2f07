"""The user's data (DATA.npz: `x` inputs, optional `y` integer labels), checked against a model.

`x` holds the samples as the model takes them, one per row: shape [N, *input shape without
the batch axis]. A float model takes float `x`; an int8 model takes int8 `x` as-is, or float
`x`, which is quantized with the input tensor's scale and zero point (TFLite arithmetic).
`y`, when present, holds one class index per sample for the model's single output.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.errors import DataError
from host.graph import DType, Graph
from host.reference.quantize import quantize_float


@dataclass(frozen=True)
class Dataset:
    """Checked samples: `x` in the model's input dtype and shape, `y` int64 labels or None."""

    x: np.ndarray
    y: np.ndarray | None

    @property
    def size(self) -> int:
        return int(self.x.shape[0])

    def subset(self, count: int, seed: int = 0) -> "Dataset":
        """At most `count` samples, drawn without replacement (all of them, in order, if fewer)."""
        if count >= self.size:
            return self
        chosen = np.sort(np.random.default_rng(seed).choice(self.size, count, replace=False))
        return Dataset(self.x[chosen], None if self.y is None else self.y[chosen])


def read_arrays(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """`x` and `y` (or None) of DATA.npz as stored, not yet checked against a model.

    Raises `DataError` when the file cannot be read or lacks `x`.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise DataError(f"{path}: no array named 'x' (has {sorted(archive.files)})",
                                hint="save the inputs with np.savez(path, x=inputs, y=labels)")
            return archive["x"], (archive["y"] if "y" in archive.files else None)
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})",
                        hint="save the data with np.savez(path, x=inputs, y=labels)") from exc


def load_data(path: str | Path, graph: Graph) -> Dataset:
    """Read DATA.npz and check it against `graph` (see `prepare_data`).

    Raises `DataError` when the file cannot be read or lacks `x`, and as `prepare_data`.
    """
    x, y = read_arrays(path)
    return prepare_data(x, y, graph)


def prepare_data(x: np.ndarray, y: np.ndarray | None, graph: Graph) -> Dataset:
    """Check `x` (and `y`) against `graph`'s single input (and output); convert int8 inputs.

    Raises `DataError` saying what to fix: no samples, a model with several inputs, a sample
    shape or dtype the model does not take, non-finite inputs, labels that are not integers,
    of the wrong count, or outside the output's classes.
    """
    if len(graph.inputs) != 1:
        raise DataError(f"the model has {len(graph.inputs)} inputs; a data file provides one ('x')")
    tensor = graph.tensors[graph.inputs[0]]
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError("the data holds no samples ('x' is empty)", hint="provide at least one sample")
    expected = tuple(tensor.shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise DataError(f"'x' has samples of shape {tuple(x.shape[1:])}; the model's input {tensor.name!r} "
                        f"takes {expected} per sample",
                        hint=f"reshape x to {(x.shape[0],) + expected}")
    x = _convert_inputs(x, tensor)
    labels = None if y is None else _check_labels(np.asarray(y), x.shape[0], graph)
    return Dataset(x, labels)


def _convert_inputs(x: np.ndarray, tensor) -> np.ndarray:
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise DataError("'x' contains NaN or infinite values")
    if tensor.dtype is DType.FLOAT32:
        if not np.issubdtype(x.dtype, np.floating):
            raise DataError(f"'x' is {x.dtype} but the model takes float32 inputs",
                            hint="store the inputs as the float values the model was trained on")
        return x.astype(np.float32)
    if tensor.dtype is DType.INT8:
        if x.dtype == np.int8:
            return x
        if np.issubdtype(x.dtype, np.floating):
            scale, zero = tensor.quantization.single()
            return quantize_float(x, scale, zero)
        raise DataError(f"'x' is {x.dtype}; the int8 model takes int8 inputs, or float inputs "
                        "that are quantized with its input scale",
                        hint="store x as int8 (already quantized) or as float32")
    raise DataError(f"the model's input is {tensor.dtype.value}; only float32 and int8 inputs are supported")


def _check_labels(y: np.ndarray, count: int, graph: Graph) -> np.ndarray:
    if len(graph.outputs) != 1:
        raise DataError(f"labels 'y' need a model with one output; this one has {len(graph.outputs)}")
    classes = graph.tensors[graph.outputs[0]].shape[-1]
    if y.ndim == 2 and y.shape == (count, classes):
        raise DataError("'y' looks one-hot encoded; labels must be class indices",
                        hint="store y = onehot.argmax(axis=1)")
    if y.ndim != 1 or y.shape[0] != count:
        raise DataError(f"'y' must hold one label per sample: shape ({count},), got {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError("'y' holds non-integer values; labels must be class indices")
    elif not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"'y' is {y.dtype}; labels must be integer class indices")
    labels = y.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if bad.size:
        raise DataError(f"label {int(labels[bad[0]])} of sample {int(bad[0])} is outside the model's "
                        f"{classes} classes (0..{classes - 1}); {bad.size} labels are out of range")
    return labels
