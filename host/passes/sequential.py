"""Sequential refit: each compressed layer compensated for the error of the compressed layers before it.

The search's options are fitted on the int8 base model's inputs (engine.prepare), so in the
compressed model every layer adds its own error to what reaches it. Once the search has
chosen one option per layer, `refit` runs the compressed model on the search samples op by
op. Before each chosen GPTQ layer (an option with a `Recipe`) it takes the weights that map the
inputs the layer now receives, Q, to what the base layer computed from its own inputs, P,
ridge-regularised toward the base weights W (so a layer whose inputs are unchanged keeps W):

    W* = (W C_pq + d W) (C_qq + d I)^-1,    d = damping * mean(diag(C_qq))

(centered patch covariances; per channel for DEPTHWISE_CONV_2D), and quantizes W* again by
the option's own recipe (bits, rate weight, SparseGPT sparsity) with C_qq as its Hessian. With
bias correction, the bias then makes the layer's mean output what the base layer's was:
b* = b + out(W, mean P) - out(W*_q, mean Q) (layerstats.output_shift). The refitted options
keep their bit widths; their sizes are measured again. docs/compression.md ("Sequential refit")
has the measurements.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.graph import NO_TENSOR, Graph, OpKind
from host.passes.candidates import WeightCandidate, compensated_candidate, compensated_depthwise_candidate
from host.passes.execute import batched, chunk_size, forward
from host.passes.fidelity import real_values
from host.passes.gptq import depthwise_factors, depthwise_sources, inverse_cholesky
from host.passes.layerstats import PatchSample, output_shift, patch_covariance
from host.passes.rate import RateFn


#: A layer is refitted only from at least this many input patches per input of a row (d for FC
#: and CONV_2D, kh*kw for DEPTHWISE_CONV_2D); with fewer the least-squares fit follows the search
#: samples rather than the data.
MIN_PATCHES_PER_INPUT = 8


@dataclass(frozen=True)
class Recipe:
    """How a GPTQ option was made, so that it can be made again on other inputs."""

    bits: int
    lam: float = 0.0
    sparsity: float = 0.0
    shared: bool = False  # one step for the whole tensor (candidates._compensation_grid)


def refit_weights(real: np.ndarray, kind: OpKind, base_patches: np.ndarray, patches: np.ndarray,
                  damping: float) -> tuple[np.ndarray, np.ndarray]:
    """(W*, C_qq): the real weights `real` refitted to `patches` (Q) against `base_patches` (P),
    and the centered covariance of Q (per channel [c, k, k] for DEPTHWISE_CONV_2D)."""
    p = base_patches - base_patches.mean(axis=0, keepdims=True)
    q = patches - patches.mean(axis=0, keepdims=True)
    c_qq, c_pq = patch_covariance(kind, q, q), patch_covariance(kind, p, q)
    if kind is OpKind.DEPTHWISE_CONV_2D:
        source = depthwise_sources(real.shape[-1], c_qq.shape[0])
        w = real.reshape(-1, real.shape[-1]).T  # [c_out, kh*kw]
        d = (damping * np.einsum("ckk->c", c_qq) / c_qq.shape[1] + 1e-12)[source]
        lhs = np.einsum("ck,ckl->cl", w, c_pq[source]) + d[:, None] * w
        system = c_qq[source] + d[:, None, None] * np.eye(c_qq.shape[1])
        refit = np.linalg.solve(system, lhs[:, :, None])[:, :, 0]  # C_qq is symmetric
        return refit.T.reshape(real.shape), c_qq
    w = real.reshape(real.shape[0], -1)
    d = damping * float(np.mean(np.diag(c_qq))) + 1e-12
    refit = np.linalg.solve(c_qq + d * np.eye(c_qq.shape[0]), (w @ c_pq + d * w).T).T
    return refit.reshape(real.shape), c_qq


def requantize(layer, recipe: Recipe, real: np.ndarray, c_qq: np.ndarray, damping: float) -> WeightCandidate:
    """The recipe's candidate for weights `real` with input covariance `c_qq`."""
    if layer.kind is OpKind.DEPTHWISE_CONV_2D:
        uppers, deads = depthwise_factors(c_qq, real.shape[-1], damping)
        return compensated_depthwise_candidate(real, recipe.bits, uppers, deads, recipe.lam, shared=recipe.shared)
    upper, dead = inverse_cholesky(c_qq, damping)
    return compensated_candidate(real, 0, recipe.bits, upper, dead, recipe.lam, recipe.sparsity,
                                 shared=recipe.shared)


class _Runner:
    """Runs a graph op by op over samples `x` in chunks; keeps each chunk's values until no later
    op reads them. The graph may change between ops (refit replaces weights and biases)."""

    def __init__(self, graph: Graph, x: np.ndarray) -> None:
        self.graph = graph
        step = chunk_size(graph)
        self.chunks: list[tuple[int, list[np.ndarray | None]]] = []
        for begin in range(0, x.shape[0], step):
            values: list[np.ndarray | None] = [None] * len(graph.tensors)
            values[graph.inputs[0]] = x[begin:begin + step]
            self.chunks.append((values[graph.inputs[0]].shape[0], values))
        self.read_later: list[set[int]] = [set() for _ in graph.ops]  # activations read after op k
        seen = set(graph.outputs)
        for k in range(len(graph.ops) - 1, -1, -1):
            self.read_later[k] = set(seen)
            seen |= {i for i in graph.ops[k].inputs if i != NO_TENSOR}

    def value(self, index: int) -> np.ndarray:
        return np.concatenate([values[index] for _, values in self.chunks], axis=0)

    def run(self, op_index: int) -> None:
        for rows, values in self.chunks:
            values.extend([None] * (len(self.graph.tensors) - len(values)))  # a bias added since
            g = batched(self.graph, rows)
            op = g.ops[op_index]
            for i in op.inputs:  # constants as the graph holds them now
                if i != NO_TENSOR and g.tensors[i].is_constant:
                    values[i] = g.tensors[i].data
            forward(g, values, op_index, op_index + 1)
            for i in op.inputs:
                if i != NO_TENSOR and not g.tensors[i].is_constant and i not in self.read_later[op_index]:
                    values[i] = None


def refit(problem, graph: Graph, chosen: list, bias_correction: bool, damping: float, rate: RateFn
          ) -> tuple[Graph, list, np.ndarray | None]:
    """(graph, chosen, outputs): every chosen option that has a recipe refitted in graph order,
    and the refitted graph's raw output on the search samples (None when nothing had a recipe).

    `graph` is `engine.realize(problem.base, problem.layers, chosen, ...)`; it is changed in
    place. Options without a recipe (plain, codebook, factorized, int8 as is) stay as chosen.
    """
    by_op = {option.op_index: k for k, option in enumerate(chosen)}
    todo = {op for op, k in by_op.items() if chosen[k].recipe is not None and chosen[k].factor is None}
    if not todo:
        return graph, chosen, None
    out = list(chosen)
    runner = _Runner(graph, problem.search_eval.data.x)
    for op_index in range(len(graph.ops)):
        if op_index in todo:
            k = by_op[op_index]
            out[k] = _refit_layer(problem, graph, runner.value(graph.ops[op_index].inputs[0]), chosen[k],
                                  bias_correction, damping, rate) or chosen[k]
        runner.run(op_index)
    return graph, out, runner.value(graph.outputs[0])


def _refit_layer(problem, graph: Graph, received: np.ndarray, option, bias_correction: bool, damping: float,
                 rate: RateFn):
    """The option refitted to the raw input `received` and applied to `graph`; None (graph
    unchanged) when the input is the base model's or too few patches would fit it."""
    from host.passes.engine import _bias_int32, _set_bias, _set_weights, weight_option  # noqa: PLC0415 (cycle)
    op_index, layer = option.op_index, problem.layers[option.op_index]
    input_index = graph.ops[op_index].inputs[0]
    if np.array_equal(received, problem.trace.values[input_index]):  # nothing before it changed
        return None
    sample, p = _base_patches(problem, op_index, input_index)
    if p.shape[0] < MIN_PATCHES_PER_INPUT * p.shape[1]:  # p: [m, d] or, depthwise, [m, kh*kw, c]
        return None
    mine = real_values(graph, input_index, received)
    real, c_qq = refit_weights(layer.real, layer.kind, p, sample.patches(problem.base, op_index, mine), damping)
    cand = requantize(layer, option.recipe, real, c_qq, damping)
    _set_weights(graph, op_index, cand)
    shift = None
    if bias_correction:  # the base layer's mean output, from the inputs it now receives
        shift = (output_shift(problem.base, op_index, cand.real(), mine.mean(axis=0))
                 - output_shift(problem.base, op_index, layer.real, layer.stats.mean_input))
    _set_bias(graph, op_index, _bias_int32(layer, cand.scale, shift), layer.in_scale * cand.scale)
    return weight_option(layer, cand, option.description + ", refit", rate, option.recipe)


def _base_patches(problem, op_index: int, input_index: int) -> tuple[PatchSample, np.ndarray]:
    """The patch draw of op `op_index` and the base model's patches under it (kept on `problem`)."""
    cache = problem.refit_patches
    if op_index not in cache:
        base_in = real_values(problem.base, input_index, problem.trace.values[input_index])
        sample = PatchSample.draw(problem.base, op_index, base_in.shape)
        cache[op_index] = (sample, sample.patches(problem.base, op_index, base_in))
    return cache[op_index]
