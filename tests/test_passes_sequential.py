"""Sequential refit (host/passes/sequential.py): each compressed layer compensated for the error of the
compressed layers before it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from host.data import Dataset, load_data, prepare_data
from host.graph import OpKind, validate
from host.model_format import pack, unpack
from host.passes import search as search_module
from host.passes.engine import SearchSpace, assemble, prepare, search
from host.passes.execute import run_samples
from host.passes.quantize import quantize
from host.passes.rate import default_rate
from host.passes.sequential import MIN_PATCHES_PER_INPUT, refit_weights
from host.tflite import read_model
from passes_models import tiny_cnn

HAR = Path(__file__).resolve().parents[1] / "examples" / "har"


def _inputs(seed: int, n: int = 4000, d: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ mixing + rng.normal(size=d)


def _output_error(w: np.ndarray, p: np.ndarray, q: np.ndarray, w_base: np.ndarray) -> float:
    pc, qc = p - p.mean(axis=0), q - q.mean(axis=0)
    return float(np.sum((qc @ w.T - pc @ w_base.T) ** 2))


def test_a_layer_whose_inputs_did_not_change_keeps_its_weights():
    rng = np.random.default_rng(0)
    p = _inputs(0)
    w = rng.normal(size=(5, 12))
    refit, c_qq = refit_weights(w, OpKind.FULLY_CONNECTED, p, p.copy(), damping=0.05)
    np.testing.assert_allclose(refit, w, rtol=1e-9, atol=1e-9)
    centered = p - p.mean(axis=0)
    np.testing.assert_allclose(c_qq, centered.T @ centered / p.shape[0])
    patches = rng.normal(size=(3000, 9, 4))  # DEPTHWISE_CONV_2D: [m, kh*kw, c]
    w_dw = rng.normal(size=(1, 3, 3, 4))
    refit_dw, c_dw = refit_weights(w_dw, OpKind.DEPTHWISE_CONV_2D, patches, patches.copy(), damping=0.05)
    np.testing.assert_allclose(refit_dw, w_dw, rtol=1e-9, atol=1e-9)
    assert c_dw.shape == (4, 9, 9)
    w_m2 = rng.normal(size=(1, 3, 3, 8))  # depth multiplier 2: output j reads input j // 2
    np.testing.assert_allclose(refit_weights(w_m2, OpKind.DEPTHWISE_CONV_2D, patches, patches.copy(), 0.05)[0],
                               w_m2, rtol=1e-9, atol=1e-9)


def test_refitted_weights_undo_most_of_an_input_error():
    rng = np.random.default_rng(1)
    p = _inputs(1)
    w = rng.normal(size=(6, 12))
    # the compressed model's inputs: the base inputs through a slightly wrong linear map, plus noise
    q = p @ (np.eye(12) + 0.15 * rng.normal(size=(12, 12))) + 0.05 * rng.normal(size=p.shape)
    refit, _ = refit_weights(w, OpKind.CONV_2D, p, q, damping=0.05)
    before, after = _output_error(w, p, q, w), _output_error(refit, p, q, w)
    assert after < 0.25 * before
    # per channel for a depthwise layer
    pd = rng.normal(size=(4000, 9, 3)) + 0.3 * rng.normal(size=(4000, 1, 3))
    qd = pd * (1.0 + 0.2 * rng.normal(size=(1, 9, 3))) + 0.05 * rng.normal(size=pd.shape)
    wd = rng.normal(size=(1, 3, 3, 3))
    refit_dw, _ = refit_weights(wd, OpKind.DEPTHWISE_CONV_2D, pd, qd, damping=0.05)
    for c in range(3):
        w_c, r_c = wd[..., c].reshape(1, 9), refit_dw[..., c].reshape(1, 9)
        p_c, q_c = pd[:, :, c], qd[:, :, c]
        assert _output_error(r_c, p_c, q_c, w_c) < 0.5 * _output_error(w_c, p_c, q_c, w_c)
    wd2 = rng.normal(size=(1, 3, 3, 6))  # depth multiplier 2
    refit_m2, _ = refit_weights(wd2, OpKind.DEPTHWISE_CONV_2D, pd, qd, damping=0.05)
    for j in range(6):
        w_j, r_j = wd2[..., j].reshape(1, 9), refit_m2[..., j].reshape(1, 9)
        p_c, q_c = pd[:, :, j // 2], qd[:, :, j // 2]
        assert _output_error(r_j, p_c, q_c, w_j) < 0.5 * _output_error(w_j, p_c, q_c, w_j)


def _problem(graph, data: Dataset, samples: int):
    start = search_module.start_search(graph, data, 1.0, SearchSpace(unit_fractions=()), search_samples=samples)
    return prepare(start.int8_graph, start.int8_data, start.reference, SearchSpace(unit_fractions=()), samples,
                   (3,), default_rate, lambda _: None, disjoint_verify=True)


def _logit_error(problem, graph) -> float:
    """Mean squared difference of the final op's input (the logits) from the int8 base model's,
    on the search samples, in quantization steps."""
    logits = graph.ops[-1].inputs[0]
    mine = run_samples(graph, problem.search_eval.data.x, keep={logits}).values[logits].astype(np.float64)
    return float(np.mean((mine - problem.trace.values[logits].astype(np.float64)) ** 2))


@pytest.fixture(scope="module")
def har_problem():
    graph = read_model(HAR / "model_float32.tflite")
    calib = load_data(HAR / "calib.npz", graph)
    return _problem(graph, calib, calib.size // 2)


def _low_bit_choice(problem):
    """A strongly compressed choice: every layer at its 2- or 3-bit GPTQ option (per-channel steps)."""
    chosen = []
    for op_index in sorted(problem.options):
        gptq = [o for o in problem.options[op_index] if o.recipe is not None and o.recipe.bits in (2, 3)
                and o.recipe.sparsity == 0 and o.recipe.lam == 0 and not o.recipe.shared]
        chosen.append(gptq[-1])
    return chosen


def test_refit_brings_a_compressed_model_closer_to_the_base_model(har_problem):
    problem = har_problem
    chosen = _low_bit_choice(problem)
    plain, kept, _ = assemble(problem, chosen, True, None)
    refitted, made, raw = assemble(problem, chosen, True, 0.05)
    assert kept == chosen
    validate(refitted)
    # the raw outputs refit computed on its way are the refitted graph's
    x = problem.search_eval.data.x
    np.testing.assert_array_equal(raw, run_samples(refitted, x, keep=set()).values[refitted.outputs[0]])
    assert _logit_error(problem, refitted) < 0.7 * _logit_error(problem, plain)
    first = min(range(len(chosen)), key=lambda k: chosen[k].op_index)
    # the first layer reads the model input, which no compression changes: it keeps its option
    assert made[first] is chosen[first]
    # the others are refitted where they have enough input patches to fit (8 per input of a row)
    refitted_any = False
    for k, (before, after) in enumerate(zip(chosen, made)):
        assert after.weights.bits == before.weights.bits
        if k == first:
            continue
        _, patches = problem.refit_patches[before.op_index]
        if patches.shape[0] >= MIN_PATCHES_PER_INPUT * patches.shape[1]:
            assert after.description == before.description + ", refit"
            refitted_any = True
        else:
            assert after is before
    assert refitted_any
    # what is packed is what was measured
    again = unpack(pack(refitted, name="har", version=1))
    logits = refitted.ops[-1].inputs[0]
    np.testing.assert_array_equal(run_samples(again, x, keep={logits}).values[logits],
                                  run_samples(refitted, x, keep={logits}).values[logits])


def test_a_one_step_option_is_refitted_on_one_step(har_problem):
    problem = har_problem
    chosen = []
    for op_index in sorted(problem.options):
        shared = [o for o in problem.options[op_index] if o.recipe is not None and o.recipe.shared
                  and o.recipe.bits == 3 and o.recipe.lam == 0]
        assert shared and shared[-1].description.startswith("gptq 3b one step")
        assert np.unique(shared[-1].weights.scale).size == 1
        chosen.append(shared[-1])
    _, made, _ = assemble(problem, chosen, True, 0.05)
    refitted = [o for o in made if o.description.endswith(", refit")]
    assert refitted and all(o.recipe.shared and np.unique(o.weights.scale).size == 1 for o in refitted)


def test_refit_covers_depthwise_layers_and_leaves_other_options_alone():
    graph = tiny_cnn(seed=3)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(240,) + tuple(graph.tensors[graph.inputs[0]].shape[1:])).astype(np.float32)
    float_data = prepare_data(x, None, graph)
    q, _ = quantize(graph, float_data.x)
    data = prepare_data(float_data.x, None, q)
    problem = _problem(q, data, 120)
    chosen = _low_bit_choice(problem)
    kinds = {problem.layers[o.op_index].kind for o in chosen}
    assert OpKind.DEPTHWISE_CONV_2D in kinds
    # one layer takes a plain (recipe-less) option: it is not refitted
    plain_index = max(range(len(chosen)), key=lambda k: chosen[k].op_index)
    plain = [o for o in problem.options[chosen[plain_index].op_index] if o.recipe is None]
    chosen[plain_index] = plain[-1]
    refitted, made, raw = assemble(problem, chosen, True, 0.05)
    validate(refitted)
    assert made[plain_index] is chosen[plain_index]
    depthwise = [k for k, o in enumerate(chosen) if problem.layers[o.op_index].kind is OpKind.DEPTHWISE_CONV_2D]
    assert all(made[k].description.endswith(", refit") for k in depthwise)
    plain_graph, _, _ = assemble(problem, chosen, True, None)
    assert _logit_error(problem, refitted) < _logit_error(problem, plain_graph)


def test_the_search_returns_the_refitted_model_it_measured(har_problem):
    problem = har_problem
    within, _ = search(problem, 1.0, True, refit_damping=0.05)
    assert within is not None
    originals = []
    for made in within.chosen:
        name = made.description.removesuffix(", refit")
        originals.append(next(o for o in problem.options[made.op_index] if o.description == name))
    again, made, _ = assemble(problem, originals, True, 0.05)
    x = problem.search_eval.data.x
    np.testing.assert_array_equal(run_samples(again, x, keep=set()).values[again.outputs[0]],
                                  run_samples(within.graph, x, keep=set()).values[within.graph.outputs[0]])
    assert [o.description for o in made] == [o.description for o in within.chosen]
