"""Train the lenet300 example: LeNet-300-100 (784-300-100-10, fully connected) on Fashion-MNIST.

Run from the repository root with TensorFlow installed (`pip install .[train]`):
    python examples/lenet300/train.py
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
from examples.lenet300.data import EVAL_SIZE, prepare  # noqa: E402
from examples.training import Stopwatch, configure_tensorflow, export_example  # noqa: E402

SEED = 20240502
EPOCHS = 12
BATCH = 128
CALIBRATION = 500


def build_model(tf):
    """Dense 300 (ReLU) -> dense 100 (ReLU) -> dense 10 -> softmax (266,610 params)."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input(shape=(784,), name="pixels"),
        layers.Dense(300, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(100, activation="relu"),
        layers.Dense(10),
        layers.Softmax(),
    ], name="lenet300")


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
            "name": "lenet300",
            "task": "Fashion-MNIST image classification (10 classes)",
            "classes": list(FASHION_MNIST_CLASSES),
            "input": {"shape": [784], "layout": "row-major 28x28",
                      "preprocessing": "28x28 grayscale pixel / 255 as float32, flattened"},
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
