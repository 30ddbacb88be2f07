"""Readers for the data sets that install offline (shared by several examples).

- Fashion-MNIST: Debian package `dataset-fashion-mnist` (IDX files, gzip'd, MIT licence),
  installed under /usr/share/datasets/fashion-mnist; `FASHION_MNIST_DIR` overrides the path.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.errors import DataError

FASHION_MNIST_DIR = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
FASHION_MNIST_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)


@dataclass(frozen=True)
class ImageSplit:
    """uint8 images (N, 28, 28) and uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip'd IDX file of unsigned bytes (type 0x08) into an array of its shape.

    Raises DataError if the file is missing, not IDX of unsigned bytes, or truncated.
    """
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}",
                        hint="apt-get install dataset-fashion-mnist") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape)) if shape else 0
    if len(data) != header + count:
        raise DataError(f"{path}: IDX header says {count} bytes of data, file has {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(split: str) -> ImageSplit:
    """The 'train' (60,000) or 't10k' (10,000) split of Fashion-MNIST.

    Raises DataError if `split` is unknown or the files are missing or malformed.
    """
    if split not in ("train", "t10k"):
        raise DataError(f"Fashion-MNIST split must be 'train' or 't10k', not {split!r}")
    images = read_idx(FASHION_MNIST_DIR / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(FASHION_MNIST_DIR / f"{split}-labels-idx1-ubyte.gz")
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
        raise DataError(f"Fashion-MNIST {split}: images {images.shape} and labels {labels.shape} disagree")
    return ImageSplit(images=images, labels=labels)
