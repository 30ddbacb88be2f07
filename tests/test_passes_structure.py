"""Structural passes: dead-unit removal (shrink.py) and data-aware low rank (lowrank.py)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from host.data import prepare_data
from host.graph import OpKind, validate
from host.passes.engine import SearchSpace
from host.passes.execute import run_samples
from host.passes.layerstats import layer_stats
from host.passes.lowrank import candidate, choose_ranks, factor_basis, factor_layer, rank_grid
from host.passes.quantize import quantize
from host.passes.search import compress
from host.passes.shrink import shrink, shrink_pair
from host.passes.units import prune_units, unit_pairs
from passes_models import mixture_task, trained_mlp


@pytest.fixture(scope="module")
def int8_task():
    g = trained_mlp()
    x, y = mixture_task(1, 800)
    q, _ = quantize(g, x)
    return q, prepare_data(x, y, q)


def _outputs(graph, x) -> np.ndarray:
    return run_samples(graph, x, keep=set()).values[graph.outputs[0]]


def _real_inputs(graph, op_index, x) -> np.ndarray:
    op = graph.ops[op_index]
    trace = run_samples(graph, x, keep={op.inputs[0]})
    scale, zero = graph.tensors[op.inputs[0]].quantization.single()
    return (trace.values[op.inputs[0]].astype(np.float64) - zero) * np.float64(scale)


def _first_mismatch(a: np.ndarray, b: np.ndarray) -> str:
    bad = np.argwhere(a != b)
    return "equal" if bad.size == 0 else f"first mismatch at {tuple(bad[0])}: {a[tuple(bad[0])]} != {b[tuple(bad[0])]}"


def test_shrink_removes_unread_units_exactly(int8_task):
    g, data = int8_task
    pair = unit_pairs(g)[0]
    stats = layer_stats(g, pair.consumer, _real_inputs(g, pair.consumer, data.x))
    pruned = prune_units(g, pair, stats.covariance, stats.mean_input, 20)
    small, removed = shrink(pruned)
    validate(small)
    assert removed == 20
    producer = small.ops[pair.producer]
    assert small.tensors[producer.inputs[1]].shape[0] == pair.channels - 20
    assert small.tensors[producer.inputs[2]].shape == (pair.channels - 20,)
    assert small.tensors[producer.outputs[0]].shape[-1] == pair.channels - 20
    assert small.tensors[small.ops[pair.consumer].inputs[1]].shape[1] == pair.channels - 20
    a, b = _outputs(pruned, data.x), _outputs(small, data.x)
    assert np.array_equal(a, b), _first_mismatch(a, b)


def test_shrink_folds_constant_units_into_the_next_bias(int8_task):
    g, data = int8_task
    pair = unit_pairs(g)[0]
    w_index = g.ops[pair.producer].inputs[1]
    w = np.array(g.tensors[w_index].data)
    w[[3, 7, 11]] = 0  # units 3, 7, 11 now output act(bias) whatever the input
    dead = dataclasses.replace(g.tensors[w_index], data=w, encoding=None)
    g2 = dataclasses.replace(g, tensors=list(g.tensors))
    g2.tensors[w_index] = dead
    small, removed = shrink_pair(g2, pair.producer, pair.consumer, pair.channels)
    validate(small)
    assert removed == 3
    a, b = _outputs(g2, data.x).astype(np.int32), _outputs(small, data.x).astype(np.int32)
    # only the int32 rounding of the folded bias differs: at most one output step, rarely
    assert np.max(np.abs(a - b)) <= 1
    assert np.mean(a != b) < 0.01


def test_shrink_leaves_a_graph_without_dead_units_alone(int8_task):
    g, _ = int8_task
    same, removed = shrink(g)
    assert removed == 0 and same is g


def test_factor_basis_orders_by_output_energy():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 10))
    cov = np.diag(np.linspace(3.0, 0.1, 10))
    p = factor_basis(w, cov)
    energy = np.einsum("oi,ij,oj->o", p.T @ w, cov, p.T @ w)
    assert np.all(np.diff(energy) <= 1e-9)
    assert np.allclose(p.T @ p, np.eye(6))


def test_factor_layer_at_full_rank_keeps_the_model(int8_task):
    g, data = int8_task
    assert candidate(g, 0)
    inputs = _real_inputs(g, 0, data.x)
    o = min(g.tensors[g.ops[0].inputs[1]].shape)
    full = factor_layer(g, 0, inputs, o)
    validate(full)
    assert len(full.ops) == len(g.ops) + 1
    assert [op.kind for op in full.ops[:2]] == [OpKind.FULLY_CONNECTED, OpKind.FULLY_CONNECTED]
    assert full.tensors[full.ops[0].outputs[0]].shape[-1] == o
    agree = np.mean(_outputs(full, data.x).argmax(1) == _outputs(g, data.x).argmax(1))
    assert agree > 0.97
    low = factor_layer(g, 0, inputs, 2)
    agree_low = np.mean(_outputs(low, data.x).argmax(1) == _outputs(g, data.x).argmax(1))
    assert agree_low < agree
    with pytest.raises(ValueError):
        factor_layer(g, 0, inputs, o + 100)
    with pytest.raises(ValueError):
        factor_layer(g, 0, inputs, 0)


def test_rank_grid_only_offers_smaller_layers():
    assert rank_grid(300, 784, (0.1, 0.2, 0.5, 0.9)) == [30, 60]
    assert rank_grid(10, 100, (0.1, 0.5)) == [1]
    assert rank_grid(4, 4, (0.5,)) == []


def test_choose_ranks_respects_the_floor(int8_task):
    g, data = int8_task
    correct = lambda graph: float(np.mean(_outputs(graph, data.x).argmax(1) == data.y)) * 100  # noqa: E731
    base = correct(g)
    kept, choices = choose_ranks(g, data.x, correct, base + 50.0, (0.1, 0.3, 0.5), min_weights=0)
    assert choices == [] and kept is g
    factored, choices = choose_ranks(g, data.x, correct, -np.inf, (0.1, 0.3, 0.5), min_weights=0)
    expected = [min(rank_grid(*g.tensors[g.ops[k].inputs[1]].shape, (0.1, 0.3, 0.5)))
                for k in range(len(g.ops)) if candidate(g, k)
                and rank_grid(*g.tensors[g.ops[k].inputs[1]].shape, (0.1, 0.3, 0.5))]
    assert [c.rank for c in choices] == expected and expected
    assert len(factored.ops) == len(g.ops) + len(choices)
    validate(factored)


def test_compress_with_low_rank_honours_max_drop():
    g = trained_mlp()
    x, y = mixture_task(1, 1200)
    data = prepare_data(x, y, g)
    space = SearchSpace(lowrank_fractions=(0.25, 0.5), lowrank_share=0.5, lowrank_min_weights=0)
    result = compress(g, data, max_drop=1.0, space=space, search_seconds=10.0)
    validate(result.graph)
    assert result.drop <= 1.0
