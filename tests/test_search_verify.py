"""The final verification: its sampling margin (engine.sampling_margin) and the fall-back from
structural passes that no verified model survives (search.compress)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from host.data import load_data
from host.passes import search as search_module
from host.passes.engine import sampling_margin
from host.passes.fidelity import Fidelity
from host.passes.rewrite import clone
from host.tflite import read_model

HAR = Path(__file__).resolve().parents[1] / "examples" / "har"


def test_margin_is_z_standard_errors_of_the_disagreement():
    fid = Fidelity(accuracy=90.0, agreement=96.0, sqnr_db=20.0, samples=2000)
    assert sampling_margin(fid, 1.0) == pytest.approx(100.0 * math.sqrt(0.04 / 2000))  # 0.447 points
    assert sampling_margin(fid, 0.5) == pytest.approx(0.5 * sampling_margin(fid, 1.0))
    assert sampling_margin(Fidelity(90.0, 100.0, math.inf, 2000), 1.0) == 0.0  # identical answers: no doubt
    assert sampling_margin(fid, 0.0) == 0.0
    # four times the samples halve the margin
    assert sampling_margin(Fidelity(90.0, 96.0, 20.0, 8000), 1.0) == pytest.approx(sampling_margin(fid, 1.0) / 2)


def test_a_structural_pass_no_verified_model_survives_is_dropped(monkeypatch):
    """When every model built on the pruned units fails verification, the search runs again from
    the int8 model and still meets the budget (here the "pruning" wrecks the first layer)."""
    graph = read_model(HAR / "model_float32.tflite")
    calib = load_data(HAR / "calib.npz", graph)
    started_from = []

    def wrecking_prune(base, *args, **kwargs):
        wrecked = clone(base)
        weights = next(t for t in wrecked.tensors if t.data is not None and t.data.ndim == 4)
        weights.data = np.zeros_like(weights.data)
        weights.encoding = None
        started_from.append(wrecked)
        return wrecked

    monkeypatch.setattr(search_module, "_prune_units", wrecking_prune)
    result = search_module.compress(graph, calib, max_drop=1.0, search_samples=calib.size // 2, disjoint_verify=True)
    assert started_from, "the structural passes ran"
    assert result.drop <= 1.0
    assert not any(np.array_equal(t.data, np.zeros_like(t.data)) for t in result.graph.tensors
                   if t.data is not None and t.data.ndim == 4)
