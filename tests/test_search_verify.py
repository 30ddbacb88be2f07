"""The final verification: its sampling margin (engine.sampling_margin) and the fall-back from
structural passes that no verified model survives (search.compress); the search's anchor
(engine.search_anchor) and the out-of-sample scoring of unit pruning (search._prune_units)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from host.data import Dataset, load_data
from host.passes import search as search_module
from host.passes.engine import Evaluator, prepare, sampling_margin, search_anchor, search_split
from host.passes.fidelity import Fidelity, measure
from host.passes.rate import default_rate
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


def test_search_anchor_takes_the_base_drop_from_every_sample():
    # lenet300's case: the int8 base lost 0.9 points on the 1,000 search images and gained 0.15 on
    # the 2,000 others; its drop is 0.2 over all 3,000, and the search keeps the other 0.8.
    anchor = search_anchor(base_search=90.5, reference_search=91.4, search_count=1000,
                           base_verify=92.45, reference_verify=92.3, verify_count=2000)
    assert anchor - 90.5 == pytest.approx((0.9 * 1000 - 0.15 * 2000) / 3000)
    # verification samples that include the search ones: their drop alone
    assert search_anchor(90.5, 91.4, 0, 92.0, 92.3, 3000) == pytest.approx(90.5 + 0.3)
    # where both drops agree the anchor is the reference's search score, as before
    assert search_anchor(90.0, 91.0, 1000, 91.0, 92.0, 2000) == pytest.approx(91.0)


def test_the_search_measures_drops_from_the_anchor():
    graph = read_model(HAR / "model_float32.tflite")
    calib = load_data(HAR / "calib.npz", graph)
    start = search_module.start_search(graph, calib, 1.0, search_samples=calib.size // 2)
    problem = prepare(start.int8_graph, start.int8_data, start.reference, search_module.SearchSpace(),
                      calib.size // 2, (3,), default_rate, lambda _: None, disjoint_verify=True)
    search_eval, full_eval = problem.search_eval, problem.full_eval
    base_search = search_eval.fidelity(start.int8_graph).score
    base_verify = full_eval.fidelity(start.int8_graph).score
    reference_search = measure(search_eval.reference, search_eval.reference, search_eval.data.y).score
    assert problem.search_anchor == pytest.approx(search_anchor(
        base_search, reference_search, search_eval.data.size, base_verify, problem.reference_score,
        full_eval.data.size))


def test_unit_pruning_is_scored_on_the_samples_its_statistics_did_not_come_from(monkeypatch):
    from host.passes import units  # noqa: PLC0415

    graph = read_model(HAR / "model_float32.tflite")
    calib = load_data(HAR / "calib.npz", graph)
    start = search_module.start_search(graph, calib, 1.0, search_module.SearchSpace(unit_fractions=()),
                                       search_samples=calib.size // 2)
    samples = calib.size // 2
    fitted, others = search_split(calib.size, samples)  # engine.prepare's draw
    # No labels (the score is top-1 agreement), and a reference that is wrong on the fitted samples
    # only: a score on them would be far below 100, on the others it is the int8 model's agreement.
    data = Dataset(start.int8_data.x, None)
    reference = start.reference.copy()
    reference[fitted] = np.roll(reference[fitted], 1, axis=1)
    seen = {}

    def recording_choose_units(g, x, score, floor, *args, **kwargs):
        seen["x"], seen["score"] = x, score(g)
        return g, []

    monkeypatch.setattr(units, "choose_units", recording_choose_units)
    search_module._prune_units(start.int8_graph, data, reference, search_module.SearchSpace(), samples, 1.0,
                               lambda _: None)
    assert np.array_equal(seen["x"], data.x[fitted])
    on_others = Evaluator(Dataset(data.x[others], None), reference[others]).fidelity(start.int8_graph).score
    on_fitted = Evaluator(Dataset(data.x[fitted], None), reference[fitted]).fidelity(start.int8_graph).score
    assert on_fitted < on_others - 50
    assert seen["score"] == on_others


def test_after_a_raise_the_search_refines_again(monkeypatch):
    """When the refined choice and the bisection's fail verification, mu is raised until a choice
    passes; the search then refines down from that choice again and backs off along the new path,
    so the answer is no larger than the raised choice (lenet300: 27,271 B raised, 25,668 B found)."""
    from host.passes import engine

    graph = read_model(HAR / "model_float32.tflite")
    calib = load_data(HAR / "calib.npz", graph)
    start = search_module.start_search(graph, calib, 1.0, search_samples=calib.size // 2)
    problem = prepare(start.int8_graph, start.int8_data, start.reference, search_module.SearchSpace(),
                      calib.size // 2, (3,), default_rate, lambda _: None, disjoint_verify=True)
    margins = []

    def margin(fidelity, z):  # the first two verifications fail, whatever they measure
        margins.append(z)
        return 100.0 if len(margins) <= 2 else sampling_margin(fidelity, z)

    monkeypatch.setattr(engine, "sampling_margin", margin)
    events = []
    within, _ = engine.search(problem, 1.0, True, events.append, verify_margin=0.5)
    assert within is not None and within.drop + sampling_margin(within.fidelity, 0.5) <= 1.0
    stages = [e.stage for e in events]
    third_verify = stages.index("verify", stages.index("verify", stages.index("verify") + 1) + 1)
    again = stages.index("refine", third_verify)  # refined again right after the raise that passed
    assert stages[again - 1] == "verify"
    raised_bytes = float(events[again - 1].message.split(" B")[0])
    assert engine.total_bytes(within.chosen) <= raised_bytes
