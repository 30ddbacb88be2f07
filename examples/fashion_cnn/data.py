"""Fashion-MNIST as the fashion_cnn model takes it: (28, 28, 1) float32 in [0, 1], labels 0-9.

Preprocessing (what a device must do to a camera image): 28x28 grayscale, 0 = background,
pixel value / 255 as float32, NHWC with one channel. The evaluation set is the first
`EVAL_SIZE` images of the official 10,000-image test split (t10k), in file order.
"""
from __future__ import annotations

import numpy as np

from examples.datasets import load_fashion_mnist

EVAL_SIZE = 500


def prepare(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a Fashion-MNIST split: x float32 (N, 28, 28, 1), y int64 (N,).

    Raises DataError (from examples.datasets) if the data set is not installed.
    """
    data = load_fashion_mnist(split)
    x = (data.images.astype(np.float32) / np.float32(255.0))[..., np.newaxis]
    return x, data.labels.astype(np.int64)
