"""The full compressor on the committed example models: ratio and accuracy actually achieved.

Slow (about a minute per model on 2 cores): the search runs for real, and the result is
measured again here, independently of the search's own bookkeeping, with the reference
interpreter on the example's labelled eval.npz.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from host.data import load_data, prepare_data
from host.graph import validate
from host.passes.execute import run_samples
from host.passes.fidelity import real_outputs
from host.passes.rate import graph_bytes
from host.passes.search import compress
from host.tflite import read_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _accuracy(graph, x, y) -> float:
    data = prepare_data(x, y, graph)
    raw = run_samples(graph, data.x, keep=set()).values[graph.outputs[0]]
    return 100.0 * float(np.mean(real_outputs(graph, raw).argmax(axis=1) == y))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "min_ratio"), [("lenet300", 40.0), ("har", 12.0)])
def test_example_reaches_its_target(name, min_ratio):
    folder = EXAMPLES / name
    graph = read_model(folder / "model_float32.tflite")
    data = load_data(folder / "eval.npz", graph)
    result = compress(graph, data, max_drop=1.0)
    validate(result.graph)
    float_acc = _accuracy(graph, data.x, data.y)
    ours_acc = _accuracy(result.graph, data.x, data.y)
    size = graph_bytes(result.graph).total
    ratio = (folder / "model_float32.tflite").stat().st_size / size
    assert float_acc - ours_acc <= 1.0, (float_acc, ours_acc)
    assert ratio >= min_ratio, (size, ratio)
    assert result.compressed.accuracy == pytest.approx(ours_acc)
