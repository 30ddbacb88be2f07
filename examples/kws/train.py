"""Train the kws example: a small DS-CNN keyword spotter on synthesised speech (12 classes).

Run from the repository root with TensorFlow installed (`pip install .[train]`) and
`apt-get install espeak-ng sox flite`:
    python examples/kws/train.py
Synthesises the data (about two minutes), trains, and writes model_float32.tflite,
model_int8.tflite, eval.npz and meta.json beside this file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.kws import features  # noqa: E402
from examples.kws.data import CLASSES, EVAL, TRAIN, build  # noqa: E402
from examples.training import Stopwatch, configure_tensorflow, export_example  # noqa: E402

SEED = 20240503
EPOCHS = 15
BATCH = 64
CHANNELS = 64
BLOCKS = 4
CALIBRATION = 600
# The regularisation of the MLPerf Tiny reference DS-CNN (benchmark/training/keyword_spotting/
# keras_model.py): L2 weight decay 1e-4 on every convolution kernel, dropout 0.2 after the first
# convolution and 0.4 before the pooling.
WEIGHT_DECAY = 1e-4
DROPOUT_FIRST, DROPOUT_LAST = 0.2, 0.4


def build_model(tf):
    """DS-CNN: conv 10x4 stride 2, four depthwise-separable blocks, average pool, dense 12."""
    layers = tf.keras.layers
    decay = tf.keras.regularizers.l2(WEIGHT_DECAY)
    inputs = tf.keras.Input(shape=(features.FRAMES, features.COEFFICIENTS, 1), name="mfcc")
    x = layers.Conv2D(CHANNELS, (10, 4), strides=(2, 2), padding="same", kernel_regularizer=decay)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dropout(DROPOUT_FIRST)(x)
    for _ in range(BLOCKS):
        x = layers.DepthwiseConv2D(3, padding="same", depthwise_regularizer=decay)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.Conv2D(CHANNELS, 1, kernel_regularizer=decay)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dropout(DROPOUT_LAST)(x)
    x = layers.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])))(x)
    x = layers.Flatten()(x)
    outputs = layers.Softmax()(layers.Dense(len(CLASSES))(x))
    return tf.keras.Model(inputs, outputs, name="kws_dscnn")


def load_or_build(cache: Path | None) -> tuple[np.ndarray, ...]:
    """Train and eval features and labels, synthesised or read from `cache` if it exists."""
    if cache is not None and cache.exists():
        with np.load(cache) as saved:
            return saved["x_train"], saved["y_train"], saved["x_eval"], saved["y_eval"]
    x_train, y_train = build(TRAIN)
    x_eval, y_eval = build(EVAL)
    if cache is not None:
        np.savez(cache, x_train=x_train, y_train=y_train, x_eval=x_eval, y_eval=y_eval)
    return x_train, y_train, x_eval, y_eval


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--cache", type=Path, help="reuse (or create) the synthesised features here (.npz)")
    args = parser.parse_args(argv)

    tf = configure_tensorflow(SEED)
    clock = Stopwatch()
    x_train, y_train, x_eval, y_eval = load_or_build(args.cache)
    data_seconds = clock.seconds()
    model = build_model(tf)
    steps = args.epochs * ((len(y_train) + BATCH - 1) // BATCH)
    schedule = tf.keras.optimizers.schedules.CosineDecay(2e-3, steps)
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = Stopwatch()
    model.fit(x_train, y_train, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=2)
    seconds = clock.seconds()
    calibration = x_train[np.random.default_rng(SEED).permutation(len(x_train))[:CALIBRATION]]
    meta = export_example(
        args.out, model,
        representative=calibration,
        eval_x=x_eval, eval_y=y_eval,
        meta={
            "name": "kws",
            "task": "keyword spotting on one-second 16 kHz clips (10 keywords, silence, unknown)",
            "classes": list(CLASSES),
            "input": {"shape": [features.FRAMES, features.COEFFICIENTS, 1],
                      "layout": "frames x MFCC coefficients x 1",
                      "preprocessing": "MFCC: examples/kws/features.py (30 ms Hann frames, 20 ms hop, "
                                       "512-point FFT, 40 HTK mel filters 20-4000 Hz, ln(e + 1e-6), "
                                       "orthonormal DCT-II, coefficients 0-9)"},
            "eval_set": "all of the synthesised evaluation split (voices never heard in training)",
            "training": {"seed": SEED, "epochs": args.epochs, "batch": BATCH,
                         "weight_decay": WEIGHT_DECAY, "dropout": [DROPOUT_FIRST, DROPOUT_LAST],
                         "samples": int(len(y_train)), "seconds": seconds,
                         "data_seconds": data_seconds,
                         "calibration_samples": CALIBRATION,
                         "tensorflow": tf.__version__},
            # The options its benchmark row and `dcagent demo --example kws` compress it with
            # (dcagent/cli/example_options.py).
            "compress": {"refit": True},
        },
    )
    print({k: meta[k] for k in ("params", "accuracy")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
