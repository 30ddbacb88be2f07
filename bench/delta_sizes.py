"""Delta update sizes for the example models: last layer(s) retrained, delta vs full bitstream.

    python -m bench.delta_sizes [--samples N]

For each example of examples/ (int8 model): the full signed .dcb of the original (v1) and of a
copy whose last FULLY_CONNECTED layer(s) were retrained by examples/finetune.py (v2: float
gradient descent on the eval set from the dequantized weights, then per-channel int8
re-quantization), the signed delta v1 -> v2 (host.delta), and the delta's size as a fraction
of the full v2. Two retraining strengths: "mild" (30 steps, learning rate 0.05) and
"strong" (200 steps, learning rate 0.5). lenet300 also with its last two layers retrained.
"""
from __future__ import annotations

import argparse

import numpy as np

from examples.finetune import finetune, load
from host.container.signing import private_key_from_seed, sign_container
from host.delta import apply_delta, make_delta
from host.model_format import pack

KEY = private_key_from_seed(bytes(32))
CASES = [("fashion_cnn", 1), ("lenet300", 1), ("lenet300", 2), ("kws", 1), ("har", 1)]
STRENGTHS = {"mild": (30, 0.05), "strong": (200, 0.5)}


def changed_levels(old, new) -> tuple[int, int]:
    changed = total = 0
    for a, b in zip(old.tensors, new.tensors):
        if a.data is not None and not np.array_equal(a.data, b.data):
            changed += int(np.count_nonzero(a.data != b.data))
            total += a.data.size
    return changed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200, help="eval samples used for retraining")
    args = parser.parse_args()
    print("| example | layers retrained | strength | levels changed | full v2 (bytes) | delta (bytes) | delta / full |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, layers in CASES:
        graph, data = load(name)
        v1 = sign_container(pack(graph, name=name, version=1), KEY)
        for strength, (steps, rate) in STRENGTHS.items():
            tuned = finetune(graph, data, layers=layers, steps=steps, learning_rate=rate, samples=args.samples)
            v2 = sign_container(pack(tuned, name=name, version=2), KEY)
            delta = sign_container(make_delta(v1, v2)[0], KEY)
            assert apply_delta(v1, delta) == v2
            changed, total = changed_levels(graph, tuned)
            print(f"| {name} | {layers} | {strength} | {changed:,} of {total:,} | {len(v2):,} | {len(delta):,} | "
                  f"{100 * len(delta) / len(v2):.1f}% |", flush=True)


if __name__ == "__main__":
    main()
