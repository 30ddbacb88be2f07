"""Accuracy of an example model on its evaluation set, measured with LiteRT (no TensorFlow).

One procedure for training (meta.json) and for tests/test_examples.py, so the committed
figures can be re-measured exactly:

- `eval.npz` holds `x` (float32, shaped as the float model's input without the batch
  dimension) and `y` (int64 class indices). Both models of an example share it.
- A float32 model gets `x` as it is. An int8 model gets `x` quantized with its input
  tensor's parameters: ``q = clip(round_half_away_from_zero(x / scale) + zero_point, -128,
  127)`` (TensorFlow Lite's QUANTIZE rounding), which is what the host tools do with user data.
- Each sample runs on its own (batch 1, as on a device) with LiteRT's reference kernels
  (`OpResolverType.BUILTIN_REF`): plain loops in one compiled binary, so the count of correct
  predictions does not depend on the CPU's vector units, unlike the optimized or XNNPACK
  kernels. The prediction is the first index of the largest output (int8 outputs are not
  dequantized: the scale is positive, so the arg-max is the same).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.errors import DataError, ModelError


@dataclass(frozen=True)
class EvalSet:
    """Float inputs `x` (N, ...) and integer labels `y` (N,) of one example."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Score:
    """How many of `total` samples a model classified correctly."""

    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """The fraction correct, 0.0 for an empty set."""
        return self.correct / self.total if self.total else 0.0


def load_eval(path: str | Path) -> EvalSet:
    """Read an example's eval.npz.

    Raises DataError if the file is missing, unreadable, lacks `x` or `y`, or they disagree
    in length, or `x` is not float32 or `y` not integer.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz or "y" not in npz:
                raise DataError(f"{path}: needs arrays 'x' and 'y', has {sorted(npz.files)}")
            x, y = npz["x"], npz["y"]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read evaluation set: {exc}") from exc
    if x.dtype != np.float32:
        raise DataError(f"{path}: x is {x.dtype}, expected float32")
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise DataError(f"{path}: y must be a 1-D integer array, is {y.dtype} {y.shape}")
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} inputs but {len(y)} labels")
    return EvalSet(x=x, y=y.astype(np.int64))


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Quantize float inputs to int8 as TensorFlow Lite's QUANTIZE op does.

    Rounds half away from zero, then saturates to [-128, 127]. Raises DataError for a scale
    that is not positive and finite.
    """
    if not (np.isfinite(scale) and scale > 0):
        raise DataError(f"input scale must be positive and finite, is {scale}")
    scaled = np.asarray(x, dtype=np.float32) / np.float32(scale)
    truncated = np.trunc(scaled)
    tie = np.abs(scaled - truncated) == np.float32(0.5)
    rounded = np.where(tie, truncated + np.sign(scaled), np.round(scaled))
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def _interpreter(model_path: str | Path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=str(model_path),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{model_path}: LiteRT cannot load the model: {exc}") from exc
    return interpreter


def predict(model_path: str | Path, x: np.ndarray) -> np.ndarray:
    """Class predictions (int64, one per sample) of a float32 or int8 .tflite model.

    Raises ModelError if LiteRT cannot load the model or it does not have exactly one input
    and one output of type float32 or int8; DataError if a sample's shape does not match
    the input tensor.
    """
    interpreter = _interpreter(model_path)
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{model_path}: expected one input and one output")
    inp, out = inputs[0], outputs[0]
    if inp["dtype"] not in (np.float32, np.int8):
        raise ModelError(f"{model_path}: input type {inp['dtype']} is neither float32 nor int8")
    sample_shape = tuple(int(d) for d in inp["shape"][1:])
    if tuple(x.shape[1:]) != sample_shape:
        raise DataError(f"{model_path}: samples are {x.shape[1:]}, the model takes {sample_shape}")
    if inp["dtype"] == np.int8:
        scale, zero_point = inp["quantization"]
        feed = quantize_input(x, scale, zero_point)
    else:
        feed = np.asarray(x, dtype=np.float32)
    predictions = np.empty(len(x), dtype=np.int64)
    for i in range(len(x)):
        interpreter.set_tensor(inp["index"], feed[i : i + 1])
        interpreter.invoke()
        predictions[i] = int(np.argmax(interpreter.get_tensor(out["index"])[0]))
    return predictions


def score(model_path: str | Path, data: EvalSet) -> Score:
    """Count the samples of `data` that the model classifies correctly (see `predict`)."""
    correct = int(np.count_nonzero(predict(model_path, data.x) == data.y))
    return Score(correct=correct, total=len(data.y))
