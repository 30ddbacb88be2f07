"""Extract the int8 weight tensors of a .tflite model with their per-channel scales.

"Weights" are the constant int8 filter operands (input 1) of CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED operators: the tensors a coder has to store. int32 biases, activations and
other constants are not weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.errors import ModelError

#: Operators whose input 1 is an int8 weight tensor.
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class WeightTensor:
    """One quantized weight tensor.

    `levels` keeps the model's own layout (OHWI for CONV_2D, 1HWO for DEPTHWISE_CONV_2D, OI for
    FULLY_CONNECTED); `axis` is its output-channel axis, `scales` holds one scale per output
    channel (a per-tensor scale is broadcast to every channel).
    """

    name: str
    op: str
    levels: np.ndarray
    scales: np.ndarray
    axis: int

    @property
    def size(self) -> int:
        """Number of weights."""
        return int(self.levels.size)

    def rows(self) -> np.ndarray:
        """The levels as a C-ordered 2-D array with one row per output channel (int32)."""
        moved = np.moveaxis(self.levels, self.axis, 0)
        return np.ascontiguousarray(moved.reshape(moved.shape[0], -1), dtype=np.int32)


def load_weights(path: str | Path) -> list[WeightTensor]:
    """Return the int8 weight tensors of the .tflite model at `path`, in operator order.

    A tensor used by several operators is returned once.

    Raises:
        ModelError: LiteRT is not installed, the file cannot be read as a model, or a weight
            tensor has quantization parameters that do not match its shape.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise ModelError("LiteRT is not installed", hint="pip install ai-edge-litert") from exc
    path = Path(path)
    try:
        interpreter = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"cannot read {path} as a .tflite model: {exc}") from exc
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    weights: list[WeightTensor] = []
    seen: set[int] = set()
    for op in interpreter._get_ops_details():  # noqa: SLF001 - LiteRT's only op listing
        inputs = [int(i) for i in op["inputs"]]
        if op["op_name"] not in WEIGHT_OPS or len(inputs) < 2 or inputs[1] < 0 or inputs[1] in seen:
            continue
        detail = details[inputs[1]]
        if detail["dtype"] != np.int8:
            continue
        seen.add(inputs[1])
        weights.append(_weight_tensor(interpreter, op["op_name"], detail, path))
    return weights


def _weight_tensor(interpreter, op_name: str, detail: dict, path: Path) -> WeightTensor:
    """Build a WeightTensor from a LiteRT tensor detail; raises ModelError on bad quantization."""
    try:
        levels = np.array(interpreter.get_tensor(detail["index"]), dtype=np.int8, copy=True)
    except ValueError as exc:
        raise ModelError(f"{path.name}: weight tensor {detail['name']!r} is not constant") from exc
    quant = detail["quantization_parameters"]
    scales = np.asarray(quant["scales"], dtype=np.float32)
    axis = int(quant["quantized_dimension"])
    if op_name == "DEPTHWISE_CONV_2D" and scales.size <= 1:
        axis = levels.ndim - 1
    if not 0 <= axis < levels.ndim:
        raise ModelError(f"{path.name}: {detail['name']!r} has quantized dimension {axis} "
                         f"for shape {levels.shape}")
    channels = levels.shape[axis]
    if scales.size == 1:
        scales = np.full(channels, scales[0], dtype=np.float32)
    if scales.size != channels or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise ModelError(f"{path.name}: {detail['name']!r} has {scales.size} scales "
                         f"for {channels} output channels, or a non-positive scale")
    return WeightTensor(name=detail["name"], op=op_name, levels=levels, scales=scales, axis=axis)
