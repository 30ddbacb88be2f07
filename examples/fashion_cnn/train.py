"""Train the fashion_cnn example: a small CNN on Fashion-MNIST, exported as float32 and int8.

Run from the repository root with TensorFlow installed (`pip install .[train]`):
    python examples/fashion_cnn/train.py
Writes model_float32.tflite, model_int8.tflite, eval.npz and meta.json beside this file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.datasets import FASHION_MNIST_CLASSES  # noqa: E402
from examples.evaluation import EvalSet  # noqa: E402
from examples.fashion_cnn.data import EVAL_SIZE, prepare  # noqa: E402
from examples.training import Stopwatch, configure_tensorflow, export_example  # noqa: E402

SEED = 20240501
EPOCHS = 12
BATCH = 128
CALIBRATION = 500


def build_model(tf):
    """Conv 16 -> pool -> conv 32 -> pool -> conv 64 -> dense 10 -> softmax (29,066 params)."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input(shape=(28, 28, 1), name="image"),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(10),
        layers.Softmax(),
    ], name="fashion_cnn")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)

    tf = configure_tensorflow(SEED)
    x_train, y_train = prepare("train")
    x_test, y_test = prepare("t10k")
    model = build_model(tf)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = Stopwatch()
    model.fit(x_train, y_train, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=2)
    seconds = clock.seconds()
    meta = export_example(
        args.out, model,
        representative=x_train[:CALIBRATION],
        eval_x=x_test[:EVAL_SIZE], eval_y=y_test[:EVAL_SIZE],
        meta={
            "name": "fashion_cnn",
            "task": "Fashion-MNIST image classification (10 classes)",
            "classes": list(FASHION_MNIST_CLASSES),
            "input": {"shape": [28, 28, 1], "layout": "NHWC",
                      "preprocessing": "28x28 grayscale pixel / 255 as float32"},
            "eval_set": f"first {EVAL_SIZE} images of the Fashion-MNIST t10k split",
            "training": {"seed": SEED, "epochs": args.epochs, "batch": BATCH,
                         "samples": int(len(y_train)), "seconds": seconds,
                         "calibration_samples": CALIBRATION,
                         "tensorflow": tf.__version__},
        },
        full_test=EvalSet(x=x_test, y=y_test),
    )
    print({k: meta[k] for k in ("params", "accuracy", "accuracy_full_test")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
