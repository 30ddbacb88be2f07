"""Fashion-MNIST as LeNet-300-100 takes it: 784 float32 values in [0, 1], labels 0-9.

Preprocessing: 28x28 grayscale, pixel value / 255 as float32, flattened row by row (row-major,
784 values). The evaluation set is the first `EVAL_SIZE` images of the official test split
(t10k), in file order (the same images as fashion_cnn's).
"""
from __future__ import annotations

import numpy as np

from examples.datasets import load_fashion_mnist

EVAL_SIZE = 500


def prepare(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a Fashion-MNIST split: x float32 (N, 784), y int64 (N,).

    Raises DataError (from examples.datasets) if the data set is not installed.
    """
    data = load_fashion_mnist(split)
    x = data.images.reshape(len(data.images), 784).astype(np.float32) / np.float32(255.0)
    return x, data.labels.astype(np.int64)
