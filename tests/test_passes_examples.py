"""The full compressor on the committed example models, as `dcagent compress --calib calib.npz
--data eval.npz` runs it: ratio of the real .dcb and accuracy on the held-out eval.npz.

Slow (about a minute per model on 2 cores): the search runs for real, and the result is
measured again here, independently of the search's own bookkeeping, with the reference
interpreter on data the search never saw, each example with the compress options its meta.json
names (dcagent/cli/example_options.py: kws with --refit). The floors are the issue's targets:
har 12x, kws 12x (measured 12.3x: 8,468 B, 0.25 points lost on 1,200 more clips), lenet300 40x
(measured 41.8x: 25,544 B, 0.5 points lost on 9,500 unseen test images). fashion_cnn (16.1x) is
measured by bench/compress_bench.py and the default demo's test, not here (two minutes more).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dcagent.cli.example_options import search_space
from host.data import load_data, prepare_data
from host.graph import validate
from host.model_format import pack
from host.passes.execute import run_samples
from host.passes.fidelity import real_outputs
from host.passes.rewrite import clone, compact
from host.passes.search import compress
from host.tflite import read_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _accuracy(graph, x, y) -> float:
    data = prepare_data(x, y, graph)
    raw = run_samples(graph, data.x, keep=set()).values[graph.outputs[0]]
    return 100.0 * float(np.mean(real_outputs(graph, raw).argmax(axis=1) == y))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "min_ratio"), [("lenet300", 40.0), ("har", 12.0), ("kws", 12.0)])
def test_example_keeps_its_accuracy_on_held_out_data(name, min_ratio):
    folder = EXAMPLES / name
    graph = read_model(folder / "model_float32.tflite")
    calib = load_data(folder / "calib.npz", graph)
    with np.load(folder / "eval.npz") as held_out:
        x, y = held_out["x"], held_out["y"]
    # as `dcagent compress --calib` runs it: the search chooses on up to 1,000 samples, verifies on the rest
    meta = json.loads((folder / "meta.json").read_text())
    result = compress(graph, calib, max_drop=1.0, space=search_space(meta), search_samples=min(1000, calib.size // 2),
                      disjoint_verify=True)
    validate(result.graph)
    dcb = pack(compact(clone(result.graph)), name=name, version=1, keep_names=False)  # the device build
    ratio = (folder / "model_float32.tflite").stat().st_size / len(dcb)
    float_acc, ours_acc = _accuracy(graph, x, y), _accuracy(result.graph, x, y)
    assert float_acc - ours_acc <= 1.0, (float_acc, ours_acc)
    assert ratio >= min_ratio, (len(dcb), ratio)
