"""Budget search and the single passes on a labelled synthetic task: sizes shrink, budgets hold."""
from __future__ import annotations

import numpy as np
import pytest

from host.data import prepare_data
from host.graph import QuantizerKind, validate
from host.passes.bitwidth import choose_bitwidths
from host.passes.cluster import cluster
from host.passes.engine import Progress, SearchSpace
from host.passes.execute import run_samples
from host.passes.fidelity import measure, real_outputs
from host.passes.prune import PruneMode, prune
from host.passes.quantize import quantize
from host.passes.rate import graph_bytes
from host.passes.rdoq import apply_rdoq
from host.passes.search import BudgetError, compress
from host.reference import run
from host.tflite import read_model, write_model
from passes_models import mixture_task, tiny_cnn, trained_mlp


@pytest.fixture(scope="module")
def task():
    g = trained_mlp()
    x, y = mixture_task(1, 1200)
    return g, prepare_data(x, y, g)


@pytest.fixture(scope="module")
def int8_task(task):
    g, data = task
    q, _ = quantize(g, data.x)
    return q, prepare_data(data.x, data.y, q)


def _accuracy(graph, data) -> float:
    raw = run_samples(graph, data.x, keep=set()).values[graph.outputs[0]]
    return 100.0 * float(np.mean(real_outputs(graph, raw).argmax(axis=1) == data.y))


def test_compress_honours_max_drop_and_shrinks(task):
    g, data = task
    seen: list[Progress] = []
    result = compress(g, data, max_drop=1.0, progress=seen.append)
    stages = {p.stage for p in seen}
    assert {"reference", "quantize", "options", "sensitivity", "search", "verify"} <= stages
    # Measured independently of the search's own bookkeeping.
    original = 100.0 * float(np.mean(run_samples(g, data.x, keep=set()).values[g.outputs[0]].argmax(1) == data.y))
    int8_x = prepare_data(data.x, data.y, result.graph)
    compressed = _accuracy(result.graph, int8_x)
    assert result.original.accuracy == pytest.approx(original)
    assert result.compressed.accuracy == pytest.approx(compressed)
    assert original - compressed <= 1.0
    assert result.estimated_bytes < 0.7 * result.int8_bytes
    assert result.ratio > 5.0
    assert len(result.tensors) == 3
    for t in result.tensors:
        assert 1 <= t.bits <= 8 and isinstance(t.quantizer, QuantizerKind) and 0 <= t.sparsity < 1
        assert t.estimated_bytes > 0 and t.params > 0
    assert any(t.bits < 8 for t in result.tensors)
    validate(result.graph)
    # The compressed int8 graph written as TFLite runs identically in the reference interpreter.
    reread = read_model(write_model(result.graph))
    sample = int8_x.x[:1]
    assert np.array_equal(run(reread, [sample])[0], run(result.graph, [sample])[0])


def test_impossible_budget_raises_with_best_found(task):
    g, labelled = task
    data = prepare_data(labelled.x, None, g)  # no labels: top-1 agreement with the float model
    q, _ = quantize(g, data.x)
    reference = run_samples(g, data.x, keep=set()).values[g.outputs[0]].astype(np.float64)
    int8_out = real_outputs(q, run_samples(q, prepare_data(data.x, None, q).x, keep=set()).values[q.outputs[0]])
    assert measure(reference, int8_out, None).agreement < 100.0  # precondition: int8 alone loses some
    with pytest.raises(BudgetError) as caught:
        compress(g, data, max_drop=0.0)
    best = caught.value.best
    assert best.drop > 0 and best.graph is not None and best.estimated_bytes > 0
    assert best.compressed.accuracy is None and best.compressed.sqnr_db > 20
    validate(best.graph)


def test_bitwidth_pass_uniform_and_codebook(int8_task):
    q, data = int8_task
    for quantizers in ((QuantizerKind.UNIFORM,), (QuantizerKind.CODEBOOK,)):
        out, report = choose_bitwidths(q, data, max_drop=1.0, quantizers=quantizers)
        assert report.bytes_after < 0.8 * report.bytes_before, report
        assert report.drop <= 1.0
        kinds = {out.tensors[op.inputs[1]].encoding.kind for op in out.ops if op.kind.value == "FULLY_CONNECTED"}
        assert kinds <= set(quantizers) | {QuantizerKind.UNIFORM}
        assert _accuracy(q, data) - _accuracy(out, data) <= 1.0


@pytest.mark.parametrize("mode", list(PruneMode))
def test_prune_pass(int8_task, mode):
    q, data = int8_task
    out, report = prune(q, data, max_drop=1.0, mode=mode)
    assert report.drop <= 1.0
    zeros = sum(int(np.sum(out.tensors[op.inputs[1]].data == 0)) for op in out.ops if op.kind.value == "FULLY_CONNECTED")
    if mode is PruneMode.UNSTRUCTURED:
        assert report.bytes_after < report.bytes_before, report
        assert zeros > 500
    assert _accuracy(q, data) - _accuracy(out, data) <= 1.0


def test_cluster_pass(int8_task):
    q, data = int8_task
    out, report = cluster(q, data, max_drop=1.0)
    assert report.bytes_after < 0.8 * report.bytes_before and report.drop <= 1.0
    books = [out.tensors[op.inputs[1]].encoding for op in out.ops if op.kind.value == "FULLY_CONNECTED"]
    assert any(b.kind is QuantizerKind.CODEBOOK for b in books)


def test_rdoq_pass_lowers_rate(int8_task):
    q, data = int8_task
    out, (before, after) = apply_rdoq(q, 2.0)
    validate(out)
    assert after < before
    out_dq, _ = apply_rdoq(q, 0.0, dependent=True)
    validate(out_dq)
    kinds = {out_dq.tensors[op.inputs[1]].encoding.kind for op in out_dq.ops if op.kind.value == "FULLY_CONNECTED"}
    assert kinds == {QuantizerKind.UNIFORM}  # 8-bit tensors stay uniform (DQ covers 2..7 bits)


def test_factorize_option_on_cnn():
    from host.passes.factorize import FactorKind

    g = tiny_cnn(seed=7, batch_norm=False)
    x = np.random.default_rng(8).normal(size=(200, 12, 10, 3)).astype(np.float32)
    q, _ = quantize(g, x)
    data = prepare_data(x, None, q)
    from host.passes.engine import _layers, layer_options, realize
    from host.passes.rate import estimate_bits
    trace = run_samples(q, data.x)
    layers = _layers(q, trace.values, estimate_bits)
    by_index = {layer.op_index: layer for layer in layers}
    space = SearchSpace(factorize=True, ranks=(0.5, 1.0))
    found = {}
    base = real_outputs(q, trace.values[q.outputs[0]])
    for layer in layers:
        for option in layer_options(layer, space, estimate_bits, q):
            if option.factor is not None:
                found.setdefault(option.factor.kind, []).append(option)
                realized = realize(q, by_index, [option], True)
                validate(realized)
                out = real_outputs(realized, run_samples(realized, data.x, keep=set()).values[realized.outputs[0]])
                assert out.shape == base.shape
    assert FactorKind.SPATIAL in found and FactorKind.DEPTHWISE in found
    # At full rank and 8 bits every structure reproduces the layer up to weight rounding.
    from host.passes.factorize import factorizations
    conv = layers[0]
    op = q.ops[conv.op_index]
    shapes = (q.tensors[op.outputs[0]].shape, q.tensors[op.inputs[0]].shape)
    exact = factorizations(conv, op, *shapes, SearchSpace(ranks=(1.0,)), 8, max_ratio=1e9)
    assert {f.kind for f in exact} == {FactorKind.SPATIAL, FactorKind.DEPTHWISE}
    for f in exact:
        if f.kind is FactorKind.SPATIAL or f.rank == min(conv.real.shape[0], 9):
            error = np.max(np.abs(f.effective_real() - conv.real))
            assert error < 0.03 * np.abs(conv.real).max(), (f.kind, f.rank, error)


def test_graph_bytes_counts_encodings(int8_task):
    q, data = int8_task
    out, report = choose_bitwidths(q, data, max_drop=3.0, quantizers=(QuantizerKind.UNIFORM,), bits=(2, 3))
    assert graph_bytes(out).total == pytest.approx(report.bytes_after)
