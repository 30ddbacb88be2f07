"""What every example's train.py shares: seeding, conversion to .tflite, and the artifacts.

Needs TensorFlow (the `train` extra); nothing at run time imports this module. An example
directory ends up with:

- `model_float32.tflite`: the trained Keras model converted as it is.
- `model_int8.tflite`: full-integer quantization (int8 weights, activations, input and
  output; per-channel weights) calibrated on a slice of the training data.
- `eval.npz`: held-out `x` (float32) and `y` (int64); see examples/evaluation.py for how
  each model is fed.
- `meta.json`: what the model is, its preprocessing, parameter count, file sizes and hashes,
  and the accuracy of both models on eval.npz measured with LiteRT.

Files are written to a temporary name and renamed into place, so a failed run leaves the
previous artifacts intact. The .npz is written with fixed zip timestamps so that a rerun
with the same data gives the same bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from examples.evaluation import EvalSet, Score, load_eval, score

FLOAT_MODEL = "model_float32.tflite"
INT8_MODEL = "model_int8.tflite"
EVAL_SET = "eval.npz"
META = "meta.json"


def configure_tensorflow(seed: int, threads: int = 2):
    """Import TensorFlow with fixed seeds, deterministic ops and a small thread pool.

    Returns the `tensorflow` module. Call before building any model.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf


def count_parameters(model) -> int:
    """Weights and biases of the layers that survive conversion (batch norm folds away)."""
    import tensorflow as tf

    total = 0
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            continue
        total += sum(int(np.prod(w.shape)) for w in layer.weights)
    return total


def _converter(model):
    """A converter for `model` with the batch fixed at 1, as a device runs it.

    With a dynamic batch, Keras' Flatten becomes SHAPE/STRIDED_SLICE/PACK/RESHAPE; with a
    fixed batch it is one RESHAPE with a constant shape.
    """
    import tensorflow as tf

    inputs = tf.keras.Input(batch_shape=(1, *model.input_shape[1:]))
    fixed = tf.keras.Model(inputs, model(inputs))  # shares the trained layers
    return tf.lite.TFLiteConverter.from_keras_model(fixed)


def convert_float(model) -> bytes:
    """The Keras model as a float32 .tflite flatbuffer (batch 1)."""
    return _converter(model).convert()


def convert_int8(model, representative: np.ndarray) -> bytes:
    """The Keras model fully quantized to int8 (int8 input and output, batch 1).

    `representative` (float32, shaped like the model input with a batch dimension) is fed one
    sample at a time to calibrate the activation ranges.
    """
    import tensorflow as tf

    def samples() -> Iterable[list[np.ndarray]]:
        for i in range(len(representative)):
            yield [representative[i : i + 1].astype(np.float32)]

    converter = _converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it, and rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed .npz (readable by numpy.load) whose bytes depend only on the arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def _score_dict(result: Score) -> dict[str, Any]:
    return {"correct": result.correct, "total": result.total, "accuracy": round(result.accuracy, 4)}


def _file_entry(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


class Stopwatch:
    """Wall-clock seconds since creation (for meta.json's training time)."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self._start, 1)


def export_example(
    out_dir: Path,
    model,
    *,
    representative: np.ndarray,
    eval_x: np.ndarray,
    eval_y: np.ndarray,
    meta: dict[str, Any],
    full_test: EvalSet | None = None,
) -> dict[str, Any]:
    """Convert `model`, write the four artifacts into `out_dir`, and return the meta written.

    `meta` carries the example's own description (name, classes, preprocessing, training);
    this adds `params`, `files`, `accuracy` (both models on eval.npz) and, when `full_test`
    is given, `accuracy_full_test` on that larger held-out set (not committed).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / FLOAT_MODEL, convert_float(model))
    write_atomic(out_dir / INT8_MODEL, convert_int8(model, representative))
    write_atomic(
        out_dir / EVAL_SET,
        npz_bytes({"x": eval_x.astype(np.float32), "y": eval_y.astype(np.int64)}),
    )
    eval_set = load_eval(out_dir / EVAL_SET)
    result = dict(meta)
    result["params"] = count_parameters(model)
    result["files"] = {name: _file_entry(out_dir / name) for name in (FLOAT_MODEL, INT8_MODEL, EVAL_SET)}
    result["accuracy"] = {
        "float32": _score_dict(score(out_dir / FLOAT_MODEL, eval_set)),
        "int8": _score_dict(score(out_dir / INT8_MODEL, eval_set)),
    }
    if full_test is not None:
        result["accuracy_full_test"] = {
            "samples": int(len(full_test.y)),
            "float32": _score_dict(score(out_dir / FLOAT_MODEL, full_test)),
            "int8": _score_dict(score(out_dir / INT8_MODEL, full_test)),
        }
    write_atomic(out_dir / META, (json.dumps(result, indent=2) + "\n").encode())
    return result
