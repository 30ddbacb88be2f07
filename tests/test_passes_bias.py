"""Lossy int32 biases (host/passes/bias.py, rule scaled): the shift bound, the rounding, and what
the search's realize packs on the har example (smaller biases, the same accuracy)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from host.container.reader import open_container
from host.data import load_data
from host.graph import ScaledLevels, validate
from host.model_format import pack
from host.passes import engine
from host.passes.bias import BIAS_TOLERANCE_LSB, bias_shift, scaled_bias
from host.passes.candidates import uniform_candidate
from host.passes.execute import run_samples
from host.passes.fidelity import real_outputs
from host.passes.quantize import quantize
from host.passes.quantizers import ClipMethod
from host.passes.rate import default_rate
from host.passes.rewrite import weight_ops
from host.tflite import read_model

HAR = Path(__file__).parents[1] / "examples" / "har"


def test_shift_is_the_largest_within_the_tolerance():
    """2^(k-1) * M <= 1/16 LSB for the largest multiplier M, and k + 1 would break it (unless k is
    24); k = 0 (exact) exactly when M > 1/16."""
    rng = np.random.default_rng(0)
    for _ in range(2000):
        scales = np.float32(2.0 ** rng.uniform(-40, 0, size=int(rng.integers(1, 9))))
        out = float(2.0 ** rng.uniform(-12, 2))
        k = bias_shift(scales, out)
        m = float(np.max(scales.astype(np.float64))) / out
        assert 0 <= k <= 24
        if k > 0:
            assert math.ldexp(m, k - 1) <= BIAS_TOLERANCE_LSB
        if k < 24:
            assert math.ldexp(m, k) > BIAS_TOLERANCE_LSB
        assert (k == 0) == (m > BIAS_TOLERANCE_LSB)
    assert bias_shift(np.array([2.0 ** -10], np.float32), 1.0) == 7  # 2^6 * 2^-10 = 1/16
    assert bias_shift(np.array([2.0 ** -10, 2.0 ** -8], np.float32), 1.0) == 5  # the largest channel rules
    assert bias_shift(np.array([1e-30], np.float32), 1.0) == 24
    assert bias_shift(np.array([], np.float32), 1.0) == bias_shift(np.array([1.0], np.float32), 0.0) == 0


def test_rounding_moves_a_bias_by_at_most_half_a_step_and_stays_int32():
    values = np.array([0, 1, -1, 63, 64, -64, -65, 73_500, -73_501, 2**31 - 1, -2**31, 2**31 - 64], dtype=np.int32)
    enc = scaled_bias(values, np.array([2.0 ** -10], np.float32), 1.0)
    assert isinstance(enc, ScaledLevels) and enc.shift == 7
    rebuilt = enc.reconstruct()
    assert rebuilt.dtype == np.int32 and np.all(rebuilt % 128 == 0)
    error = np.abs(rebuilt.astype(np.int64) - values.astype(np.int64))
    assert np.all(error[:-3] <= 64) and list(rebuilt[[1, 3, 4, 5, 6]]) == [0, 0, 128, 0, -128]
    # 2^31 - 1 and 2^31 - 64 round up to 2^31, beyond int32: clipped to the largest level
    assert rebuilt[-3] == rebuilt[-1] == 2**31 - 128 and rebuilt[-2] == -2**31
    assert scaled_bias(values, np.array([0.5], np.float32), 1.0) is None


@pytest.fixture(scope="module")
def har_int8():
    """examples/har quantized (PTQ) on its eval data, with the data as the int8 model takes it."""
    graph = read_model((HAR / "model_float32.tflite").read_bytes())
    data = load_data(HAR / "eval.npz", graph)
    q, _ = quantize(graph, data.x)
    return q, load_data(HAR / "eval.npz", q)


def _bias_payload(graph) -> tuple[int, list]:
    container = open_container(pack(graph, name="har", version=1))
    biases = {graph.tensors[graph.ops[k].inputs[2]].name for k in weight_ops(graph)}
    rows = [(t.name, e.payload_length, t.encoding) for t, e in zip(container.metadata.tensors, container.entries)
            if t.name in biases]
    return sum(length for _, length, _ in rows), rows


def _accuracy(graph, data) -> tuple[float, np.ndarray]:
    raw = run_samples(graph, data.x, keep=set()).values[graph.outputs[0]]
    return 100.0 * float(np.mean(real_outputs(graph, raw).argmax(axis=1) == data.y)), raw


def test_realize_packs_scaled_biases_smaller_at_the_same_accuracy(har_int8, monkeypatch):
    """har, every layer at 4-bit uniform weights realized as the search does (bias correction on),
    once with scaled biases and once exact: the same weights; every bias scaled, moved by at most
    2^(k-1) accumulator units (<= 1/16 output LSB per channel); its coded bytes drop by more than
    a third; the accuracy on the 280 eval samples is the same."""
    q, data = har_int8
    trace = run_samples(q, data.x)
    layers = {layer.op_index: layer for layer in engine._layers(q, trace.values, default_rate)}
    chosen = [engine.weight_option(layer, uniform_candidate(layer.real, layer.axis, 4, None, 0.0, ClipMethod.MSE),
                                   "uniform 4b", default_rate) for layer in layers.values()]
    scaled = engine.realize(q, layers, chosen, True)
    monkeypatch.setattr(engine, "scaled_bias", lambda *args: None)
    exact = engine.realize(q, layers, chosen, True)
    validate(scaled)
    for op_index in weight_ops(scaled):
        op = scaled.ops[op_index]
        b_s, b_e = scaled.tensors[op.inputs[2]], exact.tensors[op.inputs[2]]
        assert np.array_equal(scaled.tensors[op.inputs[1]].data, exact.tensors[op.inputs[1]].data)
        assert isinstance(b_s.encoding, ScaledLevels) and b_e.encoding is None
        k = b_s.encoding.shift
        moved = np.abs(b_s.data.astype(np.int64) - b_e.data.astype(np.int64))
        assert k >= 1 and moved.max() <= 1 << (k - 1), (b_s.name, k, int(moved.max()))
        multiplier = b_s.quantization.scale.astype(np.float64) / float(scaled.tensors[op.outputs[0]].quantization.scale[0])
        assert float(np.max(moved * multiplier)) <= BIAS_TOLERANCE_LSB
    scaled_bytes, rows = _bias_payload(scaled)
    exact_bytes, _ = _bias_payload(exact)
    assert rows and all(enc is not None and enc.rule == "scaled" for _, _, enc in rows)
    assert scaled_bytes < 0.67 * exact_bytes, (scaled_bytes, exact_bytes)  # measured: 91 against 150 B
    acc_scaled, out_scaled = _accuracy(scaled, data)
    acc_exact, out_exact = _accuracy(exact, data)
    assert acc_scaled == acc_exact
    assert np.mean(out_scaled != out_exact) < 0.01  # int8 outputs: (measured: all) identical


def test_a_layer_kept_as_it_is_keeps_its_exact_bias(har_int8):
    """The "int8 as is" option changes nothing, bias included: realized with every layer kept,
    the graph's biases carry no encoding, equal the int8 model's, and every output is the same
    (a scaled bias on kept layers broke the MLPerf models' zero-flip agreement budgets)."""
    q, data = har_int8
    trace = run_samples(q, data.x)
    layers = {layer.op_index: layer for layer in engine._layers(q, trace.values, default_rate)}
    chosen = [engine.layer_options(layer, engine.SearchSpace(), default_rate, q)[0] for layer in layers.values()]
    assert all(option.description == "int8 as is" for option in chosen)
    kept = engine.realize(q, layers, chosen, True)
    for op_index in weight_ops(kept):
        bias = kept.tensors[kept.ops[op_index].inputs[2]]
        assert bias.encoding is None
        assert np.array_equal(bias.data, q.tensors[q.ops[op_index].inputs[2]].data)
    assert np.array_equal(run_samples(kept, data.x, keep=set()).values[kept.outputs[0]],
                          run_samples(q, data.x, keep=set()).values[q.outputs[0]])
