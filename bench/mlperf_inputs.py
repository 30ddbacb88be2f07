"""Stand-in inputs for the MLPerf Tiny models, whose data sets are not on these machines.

Their fidelity (top-1 agreement and output SQNR of a compressed model against the original
int8 model) is measured on inputs built from the data this repository ships, never labels:
- KWS (49 x 10 MFCC, same layout and class order as examples/kws): the examples/kws eval.npz
  features (synthesised speech, examples/kws/features.py; not MLPerf's exact MFCC scaling);
- ResNet-8 (32x32x3) and VWW (96x96x3): Fashion-MNIST images from examples/fashion_cnn
  eval.npz, resized (nearest neighbour), grey copied to the 3 channels and spread over the
  input tensor's real range;
- AD (640 log-mel values): Gaussian noise around the middle of the input's real range
  (sigma = range / 6), seeded. Not machine sounds: its figures are only a weight-noise probe.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from host.errors import DataError
from host.graph import Graph

ROOT = Path(__file__).resolve().parents[1]

#: MLPerf Tiny file names: (float32 model, int8 model, short name).
MODELS = {
    "kws01": ("kws_ref_model_float32.tflite", "kws_ref_model.tflite"),
    "ic01": ("pretrainedResnet.tflite", "pretrainedResnet_quant.tflite"),
    "vww01": ("vww_96_float.tflite", "vww_96_int8.tflite"),
    "ad01": ("ad01_fp32.tflite", "ad01_int8.tflite"),
}


def _real_range(graph: Graph) -> tuple[float, float]:
    tensor = graph.tensors[graph.inputs[0]]
    scale, zero = tensor.quantization.single()
    return (-128 - zero) * scale, (127 - zero) * scale


def _images(count: int, side: int) -> np.ndarray:
    with np.load(ROOT / "examples" / "fashion_cnn" / "eval.npz") as data:
        x = data["x"][:count, :, :, 0].astype(np.float32)
    index = (np.arange(side) * x.shape[1]) // side
    resized = x[:, index][:, :, index]
    return np.repeat(resized[..., None], 3, axis=3)


def inputs(name: str, graph: Graph, count: int) -> np.ndarray:
    """`count` float inputs (as the int8 model's real input values) for MLPerf model `name`.

    Raises DataError for an unknown name or a model whose input is not int8-quantized.
    """
    if name not in MODELS:
        raise DataError(f"no stand-in inputs for {name!r} (known: {', '.join(MODELS)})")
    tensor = graph.tensors[graph.inputs[0]]
    if tensor.quantization is None:
        raise DataError(f"{name}: the input tensor is not quantized")
    low, high = _real_range(graph)
    shape = tuple(tensor.shape[1:])
    if name == "kws01":
        with np.load(ROOT / "examples" / "kws" / "eval.npz") as data:
            x = data["x"][:count].astype(np.float32)
        return np.clip(x, low, high).reshape((-1,) + shape)
    if name in ("ic01", "vww01"):
        pixels = _images(count, shape[0])
        return (low + pixels * (high - low)).astype(np.float32)
    rng = np.random.default_rng(20241129)
    centre, sigma = (low + high) / 2, (high - low) / 6
    return np.clip(rng.normal(centre, sigma, (count,) + shape), low, high).astype(np.float32)
