"""The budget search shared by every pass: per-layer options, predicted cost, Lagrangian sweep.

1. Run the int8 model on the search samples; per weight layer collect its input statistics
   (layerstats.py).
2. Per layer, build options (candidates.py, factorize.py), each with estimated bytes (rate.py)
   and predicted distortion D = trace(dW C dW^T) of the layer output.
3. Per layer, measure sensitivity: replace only that layer by its probe option(s) (uniform at
   `probe_bits`), rerun the network's tail, and record the score drop and the output MSE;
   the gain g = output MSE / D maps layer distortion to output distortion.
4. For a multiplier mu, each layer takes the option minimising bytes + mu * g * D (the convex
   hull of the size/distortion front, assuming additive output distortion). A bisection on
   log(mu), each step a real evaluation of the assembled model, finds the smallest model
   whose measured drop stays within `max_drop`; the winner is verified on all samples, and
   mu is raised until it passes. With `SearchSpace.sequential_refit` each evaluated model is
   first refitted layer by layer on its own inputs (`assemble`, sequential.py).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from host.data import Dataset
from host.graph import DType, Graph, OpKind, Quantization, Tensor
from host.passes.bias import scaled_bias
from host.passes.candidates import (
    WeightCandidate, codebook_candidate, compensated_candidate, compensated_depthwise_candidate, dependent_candidate,
    keep_candidate, uniform_candidate, uniform_candidates,
)
from host.passes.execute import rerun_from, run_samples
from host.passes.fidelity import Fidelity, measure, real_outputs, real_values
from host.passes.gptq import depthwise_factors, inverse_cholesky
from host.passes.layerstats import LayerStats, distortion, layer_stats, output_shift
from host.passes.prune import PruneMode, magnitude_mask
from host.passes.quantizers import ClipMethod, dequantize_weights
from host.passes.rate import DIRECTORY_BYTES, TENSOR_INFO_BYTES, RateFn, default_rate, tensor_bytes
from host.passes.rewrite import channel_axis, clone, weight_ops
from host.passes.sequential import Recipe, refit

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


@dataclass(frozen=True)
class Progress:
    """A progress report: `stage` name, `done` of `total` steps, and a short message."""

    stage: str
    done: int
    total: int
    message: str = ""


ProgressFn = Callable[[Progress], None]


def _ignore(_: Progress) -> None:
    return None


#: The rank fractions `--factorize` tries in the data-aware low-rank pass (lowrank.py).
LOWRANK_FRACTIONS = (0.25, 0.35, 0.5)


@dataclass(frozen=True)
class SearchSpace:
    """The options the search may give each weight layer."""

    bits: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
    sparsities: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
    prune_mode: PruneMode = PruneMode.UNSTRUCTURED
    channel_sparsities: tuple[float, ...] = ()
    codebook_bits: tuple[int, ...] = (1, 2, 3, 4, 5)
    rdoq_lambdas: tuple[float, ...] = (0.0, 0.1)
    dependent_bits: tuple[int, ...] = ()
    dependent_max_weights: int = 20000
    factorize: bool = False
    ranks: tuple[float, ...] = (0.125, 0.25, 0.5)
    bias_correction: bool = True
    # GPTQ error compensation (gptq.py) for FULLY_CONNECTED and CONV_2D layers: uniform
    # levels at each of `compensated_bits` x rate weights `compensated_lambdas` (0 = plain
    # compensated rounding), and SparseGPT pruning at `compensated_sparsities` (lambda 0).
    compensated_bits: tuple[int, ...] = (2, 3, 4, 5, 6)
    compensated_lambdas: tuple[float, ...] = (0.0, 0.2, 0.4, 0.7, 1.0, 1.4, 2.0, 3.0, 4.0)
    compensated_sparsities: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9)
    damping: float = 0.05
    # GPTQ options with one real step for the whole tensor besides the per-channel ones: the
    # container stores such a tensor's scale once (docs/compression.md, "One step per tensor").
    shared_steps: bool = True
    # Unit pruning with compensation (units.py) before the search: the fractions of a
    # producer's channels tried (largest first), allowed `unit_share` of the remaining budget.
    unit_fractions: tuple[float, ...] = (0.25, 0.4, 0.5, 0.6, 0.7)
    unit_share: float = 0.3
    # Data-aware low-rank factorization (lowrank.py) of fully-connected layers of at least
    # `lowrank_min_weights` weights, after unit pruning: the smallest rank (fractions of
    # min(out, in)) whose int8 model keeps its score within `lowrank_share` more of the budget.
    # Off by default (empty; `dcagent compress --factorize` sets LOWRANK_FRACTIONS): on lenet300
    # it did not pay (docs/compression.md, "Low rank").
    lowrank_fractions: tuple[float, ...] = ()
    lowrank_share: float = 0.2
    lowrank_min_weights: int = 20000
    # Layers with GPTQ options and more weights than this get plain options without pruning only.
    plain_max_weights: int = 20000
    # Refit the chosen GPTQ options in graph order on the compressed model's own inputs before
    # measuring a candidate (sequential.py). Off by default: it pays on loose budgets, and at a
    # 1-point budget the search's result moved either way (docs/compression.md, "Sequential refit").
    sequential_refit: bool = False

    @property
    def refit_damping(self) -> float | None:
        """The damping `search`/`assemble` refit with, None when sequential refit is off."""
        return self.damping if self.sequential_refit else None


@dataclass(eq=False)
class Layer:
    """A weight op of the int8 base graph and what the search knows about it."""

    op_index: int
    kind: OpKind
    name: str
    axis: int
    data: np.ndarray
    real: np.ndarray
    scale: np.ndarray
    bias_real: np.ndarray
    in_scale: np.float32
    stats: LayerStats
    base_bytes: float


@dataclass(eq=False)
class LayerOption:
    """One way to store a layer: replaced weights, or (factor set) two factor layers."""

    op_index: int
    weights: WeightCandidate
    bytes: float
    distortion: float
    description: str
    factor: object | None = None  # host.passes.factorize.Factorization
    recipe: Recipe | None = None  # how a GPTQ option was made (sequential.refit makes it again)

    @property
    def effective_real(self) -> np.ndarray:
        return self.factor.effective_real() if self.factor is not None else self.weights.real()


@dataclass(frozen=True)
class Sensitivity:
    """Effect of one layer alone at `bits` (uniform): measured score drop and output MSE."""

    name: str
    bits: int
    drop: float
    output_mse: float


@dataclass(eq=False)
class Outcome:
    """The search's answer: the assembled graph, per-layer choices, and measurements."""

    graph: Graph
    chosen: list[LayerOption]
    fidelity: Fidelity
    reference_score: float
    sensitivities: list[Sensitivity] = field(default_factory=list)
    evaluations: int = 0

    @property
    def drop(self) -> float:
        return self.reference_score - self.fidelity.score


def bias_bytes(values: np.ndarray, rate: RateFn) -> float:
    """Container bytes of an int32 bias: coded payload (padded to 4) and side information
    (rate.side_bytes for an int32 tensor)."""
    payload = int(np.ceil(rate(values.astype(np.int64), False) / 8.0))
    return float(payload + (-payload) % 4 + DIRECTORY_BYTES + TENSOR_INFO_BYTES + 6)


def _layers(graph: Graph, trace_values, rate: RateFn) -> list[Layer]:
    layers = []
    for op_index in weight_ops(graph):
        op = graph.ops[op_index]
        w_t = graph.tensors[op.inputs[1]]
        x_t = graph.tensors[op.inputs[0]]
        axis = channel_axis(op.kind.value)
        scale = np.broadcast_to(w_t.quantization.scale, (w_t.shape[axis],)).astype(np.float32)
        real = dequantize_weights(np.asarray(w_t.data), scale, axis)
        in_scale, _ = x_t.quantization.single()
        inputs = real_values(graph, op.inputs[0], trace_values[op.inputs[0]])
        stats = layer_stats(graph, op_index, inputs)
        bias_index = op.inputs[2] if len(op.inputs) > 2 else -1
        if bias_index >= 0:
            b_t = graph.tensors[bias_index]
            bias_real = b_t.data.astype(np.float64) * np.float64(np.float32(in_scale)) * scale.astype(np.float64)
            b_bytes = bias_bytes(b_t.data, rate)
        else:
            bias_real = np.zeros(w_t.shape[axis])
            b_bytes = 0.0
        base = tensor_bytes(w_t, rate) + b_bytes
        layers.append(Layer(op_index, op.kind, w_t.name, axis, np.asarray(w_t.data), real, scale, bias_real,
                            np.float32(in_scale), stats, base))
    return layers


def _bias_int32(layer: Layer, scale: np.ndarray, shift: np.ndarray | None) -> np.ndarray:
    bias = layer.bias_real if shift is None else layer.bias_real - shift
    bias_scale = (layer.in_scale * scale.astype(np.float32)).astype(np.float64)
    return np.clip(np.round(bias / bias_scale), _INT32_MIN, _INT32_MAX).astype(np.int32)


def weight_option(layer: Layer, cand: WeightCandidate, description: str, rate: RateFn,
                  recipe: Recipe | None = None) -> LayerOption:
    """A layer option for replacing the layer's weights by `cand` (bytes and distortion); `recipe`:
    how a GPTQ candidate was made."""
    tensor = Tensor("w", cand.data.shape, DType.INT8,
                    Quantization(cand.scale, np.zeros(cand.scale.size, dtype=np.int64), cand.axis),
                    cand.data, encoding=cand.encoding)
    size = tensor_bytes(tensor, rate) + bias_bytes(_bias_int32(layer, cand.scale, None), rate)
    d = distortion(layer.kind, layer.stats, cand.real() - layer.real)
    return LayerOption(layer.op_index, cand, size, d, description, recipe=recipe)


def input_variance(layer: Layer) -> np.ndarray:
    """Variance of the input each weight multiplies, broadcast to the weights' shape."""
    cov = layer.stats.covariance
    w = layer.real
    if layer.kind is OpKind.DEPTHWISE_CONV_2D:
        diag = np.einsum("ckk->kc", cov)  # [kh*kw, c]
        return np.maximum(diag.reshape(w.shape[1:])[None], 0.0)
    diag = np.maximum(np.diag(cov), 0.0)
    return np.broadcast_to(diag.reshape((1,) + w.shape[1:]), w.shape)


def layer_options(layer: Layer, space: SearchSpace, rate: RateFn, graph: Graph | None = None) -> list[LayerOption]:
    """Every option of `space` for `layer` (the unchanged int8 weights first)."""
    w, axis = layer.real, layer.axis
    options = [weight_option(layer, keep_candidate(layer.data, layer.scale, axis), "int8 as is", rate)]
    # Saliency: |w| times the standard deviation of the input it multiplies, so weights on
    # inputs that never vary (dead pixels, constant channels) go first.
    salience = np.abs(w) * np.sqrt(input_variance(layer))
    masks: list[tuple[str, float, np.ndarray | None]] = [
        ("", 0.0, None) if s == 0 else (f", {s:.0%} pruned", s, magnitude_mask(salience, s, space.prune_mode, axis))
        for s in space.sparsities]
    masks += [(f", {s:.0%} channels pruned", s, magnitude_mask(salience, s, PruneMode.CHANNEL, axis))
              for s in space.channel_sparsities]
    compensated = layer.kind in (OpKind.FULLY_CONNECTED, OpKind.CONV_2D) and bool(space.compensated_bits)
    if compensated and w.size > space.plain_max_weights:
        masks = masks[:1] if masks and masks[0][2] is None else []  # GPTQ options cover the rest
    for suffix, _, mask in masks:
        for bits in space.bits:
            lams = space.rdoq_lambdas if bits < 8 else (0.0,)
            for lam, cand in zip(lams, uniform_candidates(w, axis, bits, mask, lams)):
                tag = f"uniform {bits}b" + (f" rdoq {lam}" if lam else "")
                options.append(weight_option(layer, cand, tag + suffix, rate))
        for bits in space.codebook_bits:
            cand = codebook_candidate(w, axis, layer.scale, bits, mask)
            options.append(weight_option(layer, cand, f"codebook {bits}b" + suffix, rate))
        if w.size <= space.dependent_max_weights:
            for bits in space.dependent_bits:
                cand = dependent_candidate(w, axis, bits, mask)
                options.append(weight_option(layer, cand, f"dependent {bits}b" + suffix, rate))
    if compensated:
        options += compensated_options(layer, space, rate)
    elif layer.kind is OpKind.DEPTHWISE_CONV_2D and space.compensated_bits:
        options += compensated_depthwise_options(layer, space, rate)
    if space.factorize:
        from host.passes.factorize import factor_options  # noqa: PLC0415 (factorize uses this module)
        options += factor_options(layer, space, rate, graph)
    return options


def _gptq_label(recipe: Recipe) -> str:
    """How the report names a GPTQ option without pruning ("gptq 3b one step rd 0.2")."""
    return (f"gptq {recipe.bits}b" + (" one step" if recipe.shared else "")
            + (f" rd {recipe.lam}" if recipe.lam else ""))


def compensated_options(layer: Layer, space: SearchSpace, rate: RateFn) -> list[LayerOption]:
    """GPTQ / SparseGPT options of a FULLY_CONNECTED or CONV_2D layer (gptq.py)."""
    upper, dead = inverse_cholesky(layer.stats.covariance, space.damping)
    options = []
    for bits in space.compensated_bits:
        for shared in (False, True) if space.shared_steps else (False,):
            for lam in space.compensated_lambdas:
                cand = compensated_candidate(layer.real, 0, bits, upper, dead, lam, shared=shared)
                recipe = Recipe(bits, lam, shared=shared)
                options.append(weight_option(layer, cand, _gptq_label(recipe), rate, recipe))
        for sparsity in space.compensated_sparsities:
            cand = compensated_candidate(layer.real, 0, bits, upper, dead, 0.0, sparsity)
            options.append(weight_option(layer, cand, f"gptq {bits}b, {sparsity:.0%} pruned (sparsegpt)", rate,
                                         Recipe(bits, 0.0, sparsity)))
    return options


def compensated_depthwise_options(layer: Layer, space: SearchSpace, rate: RateFn) -> list[LayerOption]:
    """GPTQ options of a DEPTHWISE_CONV_2D layer, channel by channel
    (candidates.compensated_depthwise_candidate): every bit width and rate weight, no pruning."""
    uppers, deads = depthwise_factors(layer.stats.covariance, layer.real.shape[-1], space.damping)
    options = []
    for bits in space.compensated_bits:
        for shared in (False, True) if space.shared_steps else (False,):
            for lam in space.compensated_lambdas:
                cand = compensated_depthwise_candidate(layer.real, bits, uppers, deads, lam, shared=shared)
                recipe = Recipe(bits, lam, shared=shared)
                options.append(weight_option(layer, cand, _gptq_label(recipe), rate, recipe))
    return options


def realize(base: Graph, layers: dict[int, Layer], chosen: list[LayerOption], bias_correction: bool) -> Graph:
    """The base graph with every chosen option applied (biases re-expressed and corrected)."""
    g = clone(base)
    factored = []
    for option in chosen:
        layer = layers[option.op_index]
        shift = None
        if bias_correction:
            shift = output_shift(base, option.op_index, option.effective_real - layer.real, layer.stats.mean_input)
        if option.factor is not None:
            factored.append((option, shift))
            continue
        cand = option.weights
        _set_weights(g, option.op_index, cand)
        if not _keeps_layer(layer, cand):  # a layer kept as it is keeps its exact bias too
            _set_bias(g, option.op_index, _bias_int32(layer, cand.scale, shift), layer.in_scale * cand.scale)
    if factored:
        from host.passes.factorize import splice  # noqa: PLC0415 (factorize imports this module)
        for option, shift in sorted(factored, key=lambda item: -item[0].op_index):
            splice(g, layers[option.op_index], option.factor, shift)
    return g


def assemble(problem: Problem, chosen: list[LayerOption], bias_correction: bool,
             refit_damping: float | None) -> tuple[Graph, list[LayerOption], np.ndarray | None]:
    """The compressed graph of `chosen`, the options it holds and, when known, its raw output on
    the search samples: `realize`d, then, unless `refit_damping` is None, sequentially refitted
    (sequential.refit, which runs the graph on the search samples as it goes)."""
    g = realize(problem.base, problem.layers, chosen, bias_correction)
    if refit_damping is None:
        return g, list(chosen), None
    return refit(problem, g, chosen, bias_correction, refit_damping, problem.rate)


def _keeps_layer(layer: Layer, cand: WeightCandidate) -> bool:
    """Whether `cand` is the layer's int8 weights unchanged (the "int8 as is" option): then
    bias correction has nothing to correct, and a scaled bias would be the only change to the
    layer (on the MLPerf models, kept whole under a zero-flip agreement budget, it was enough to
    break the budget)."""
    return (cand.data.shape == layer.data.shape and np.array_equal(cand.data, layer.data)
            and np.array_equal(np.asarray(cand.scale), np.asarray(layer.scale)))


def _set_weights(g: Graph, op_index: int, cand: WeightCandidate) -> None:
    """Replace the op's weights by `cand` (int8 data, per-channel scales, encoding)."""
    op = g.ops[op_index]
    g.tensors[op.inputs[1]] = dataclasses.replace(
        g.tensors[op.inputs[1]], data=cand.data,
        quantization=Quantization(cand.scale, np.zeros(cand.scale.size, dtype=np.int64), cand.axis),
        encoding=cand.encoding)


def _set_bias(g: Graph, op_index: int, values: np.ndarray, bias_scale: np.ndarray) -> None:
    """Set the op's int32 bias to `values`, stored by rule scaled (bias.py) where the output
    cannot feel it: what the search measures is what is packed."""
    op = g.ops[op_index]
    q = Quantization(bias_scale.astype(np.float32), np.zeros(values.size, dtype=np.int64), 0)
    out_q = g.tensors[op.outputs[0]].quantization
    encoding = None if out_q is None else scaled_bias(values, q.scale, float(out_q.scale[0]))
    if encoding is not None:
        values = encoding.reconstruct()
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b_t = g.tensors[op.inputs[2]]
        g.tensors[op.inputs[2]] = dataclasses.replace(b_t, data=values, quantization=q, encoding=encoding)
    else:
        name = g.tensors[op.inputs[1]].name + "/bias"
        g.tensors.append(Tensor(name, (values.size,), DType.INT32, q, values, encoding=encoding))
        op.inputs = (op.inputs[0], op.inputs[1], len(g.tensors) - 1)


class Evaluator:
    """Scores graphs on a data set against reference real outputs (and labels)."""

    def __init__(self, data: Dataset, reference: np.ndarray) -> None:
        self.data = data
        self.reference = reference
        self.count = 0

    def outputs(self, graph: Graph, raw: np.ndarray | None = None) -> np.ndarray:
        """Real outputs of `graph` on the data (`raw`: its raw outputs there, already computed)."""
        self.count += 1
        if raw is None:
            raw = run_samples(graph, self.data.x, keep=set()).values[graph.outputs[0]]
        return real_outputs(graph, raw)

    def fidelity(self, graph: Graph, raw: np.ndarray | None = None) -> Fidelity:
        return measure(self.reference, self.outputs(graph, raw), self.data.y)


@dataclass(eq=False)
class Problem:
    """Everything the search needs: base int8 graph, its layers and options, evaluators."""

    base: Graph
    layers: dict[int, Layer]
    options: dict[int, list[LayerOption]]
    gains: dict[int, float]
    search_eval: Evaluator
    full_eval: Evaluator
    reference_score: float
    trace: object
    sensitivities: list[Sensitivity]
    search_anchor: float  # the score a candidate's drop on the search samples is measured from
    rate: RateFn = default_rate
    refit_patches: dict = field(default_factory=dict)  # sequential.py: op -> (patch draw, base patches)


def search_split(size: int, search_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(search, rest): the sample indices the search chooses on (all of them, or `search_samples`
    drawn with default_rng(0), ascending) and the others (empty when the search takes all). The
    one draw behind the search, its statistics, the structural passes and the verification."""
    if size <= search_samples:
        return np.arange(size), np.arange(0)
    chosen = np.sort(np.random.default_rng(0).choice(size, search_samples, replace=False))
    return chosen, np.setdiff1d(np.arange(size), chosen)


def prepare(base: Graph, data: Dataset, reference_outputs: np.ndarray, space: SearchSpace,
            search_samples: int, probe_bits: tuple[int, ...], rate: RateFn,
            progress: ProgressFn, disjoint_verify: bool = False) -> Problem:
    """Steps 1-3: statistics, options and per-layer sensitivity on the int8 `base` graph.

    `reference_outputs` are the real outputs of the reference model on all of `data`. The
    search evaluates candidates on `search_samples` of them; the winner is verified on all of
    them, or with `disjoint_verify` (and more samples than `search_samples`) only on the others,
    so that the verification sees samples the search did not choose on.
    """
    subset_index, rest = search_split(data.size, search_samples)
    sub = Dataset(data.x[subset_index], None if data.y is None else data.y[subset_index])
    verify = data
    if disjoint_verify and rest.size:
        verify = Dataset(data.x[rest], None if data.y is None else data.y[rest])
        verify_reference = reference_outputs[rest]
    else:
        verify_reference = reference_outputs
    progress(Progress("statistics", 0, 1, "running the int8 model"))
    trace = run_samples(base, sub.x)
    layers_list = _layers(base, trace.values, rate)
    layers = {layer.op_index: layer for layer in layers_list}
    search_eval = Evaluator(sub, reference_outputs[subset_index])
    full_eval = Evaluator(verify, verify_reference)
    reference_score = measure(verify_reference, verify_reference, verify.y).score
    sub_reference_score = measure(search_eval.reference, search_eval.reference, sub.y).score
    base_sub_out = real_outputs(base, trace.values[base.outputs[0]])
    options: dict[int, list[LayerOption]] = {}
    for k, layer in enumerate(layers_list):
        progress(Progress("options", k, len(layers_list), layer.name))
        options[layer.op_index] = layer_options(layer, space, rate, base)
    progress(Progress("options", len(layers_list), len(layers_list)))
    gains: dict[int, float] = {}
    sensitivities: list[Sensitivity] = []
    for k, layer in enumerate(layers_list):
        progress(Progress("sensitivity", k, len(layers_list), layer.name))
        ratios = []
        for bits in probe_bits:
            cand = uniform_candidate(layer.real, layer.axis, bits, None, 0.0, ClipMethod.MSE)
            probe = weight_option(layer, cand, f"probe {bits}b", rate)
            g = realize(base, layers, [probe], space.bias_correction)
            out = real_outputs(g, rerun_from(g, trace, layer.op_index)[0])
            mse = float(np.mean((out - base_sub_out) ** 2))
            fid = measure(search_eval.reference, out, sub.y)
            sensitivities.append(Sensitivity(layer.name, bits, sub_reference_score - fid.score, mse))
            if probe.distortion > 0:
                ratios.append(mse / probe.distortion)
        gains[layer.op_index] = float(np.exp(np.mean(np.log(np.maximum(ratios, 1e-300))))) if ratios else 0.0
    progress(Progress("sensitivity", len(layers_list), len(layers_list)))
    _floor_unmeasured_gains(gains)
    base_search = measure(search_eval.reference, base_sub_out, sub.y).score
    base_verify = full_eval.fidelity(base).score
    search_count = 0 if verify is data else sub.size  # verifying on all samples counts the search's already
    anchor = search_anchor(base_search, sub_reference_score, search_count, base_verify, reference_score, verify.size)
    return Problem(base, layers, options, gains, search_eval, full_eval, reference_score, trace, sensitivities,
                   anchor, rate)


def search_anchor(base_search: float, reference_search: float, search_count: int,
                  base_verify: float, reference_verify: float, verify_count: int) -> float:
    """The score a candidate's drop on the search samples is measured from: the base's score
    there plus the base's own drop measured on the search and verification samples together
    (pass search_count 0 when the verification samples include the search samples).

    A candidate's drop against the reference is the base's drop (PTQ, unit pruning) plus what
    the compression loses against the base. On the search samples alone the first term is
    noisy (lenet300, 1,000 of 3,000 calibration images: the int8 model lost 0.9 points there
    and gained 0.15 on the other 2,000), and an unlucky draw ate the budget before the search
    began; the second is a paired difference against the base, which the search samples
    measure well. So the first term comes from every sample, the second from the search ones.
    """
    total = search_count + verify_count
    base_drop = ((reference_search - base_search) * search_count
                 + (reference_verify - base_verify) * verify_count) / total
    return base_search + base_drop


def _floor_unmeasured_gains(gains: dict[int, float]) -> None:
    """A probe that leaves the model's outputs unchanged (a saturated softmax on confident
    samples) measures no sensitivity, and a gain of 0 would make every compression of that layer
    look free: such layers get the least gain measured on any other layer (1.0 if none)."""
    measured = [g for g in gains.values() if g > 1e-200]
    floor = min(measured) if measured else 1.0
    for op_index, g in gains.items():
        if g <= 1e-200:
            gains[op_index] = floor


def lagrangian_norm(problem: Problem) -> float:
    """The multiplier scale: int8 bytes over the largest gain-weighted distortion, so that
    `select(problem, lagrangian_norm(problem) * 10**t)` sweeps from most compressed (t << 0) to
    int8 as is (t >> 0) over the same range of t for any model."""
    base_bytes = sum(problem.layers[i].base_bytes for i in problem.options)
    scale = sum(problem.gains[i] * max((o.distortion for o in opts), default=0.0)
                for i, opts in problem.options.items())
    return base_bytes / scale if scale > 0 else 1.0


def select(problem: Problem, mu: float) -> list[LayerOption]:
    """Per layer, the option minimising bytes + mu * gain * distortion."""
    chosen = []
    for op_index, options in problem.options.items():
        g = problem.gains[op_index]
        chosen.append(min(options, key=lambda o: o.bytes + mu * g * o.distortion))
    return chosen


def total_bytes(chosen: list[LayerOption]) -> float:
    return float(sum(o.bytes for o in chosen))


# Multiply-accumulates per second of the numpy reference kernels, measured on the 2-core
# development machine (kws: 2.6 M MACs x 300 samples in ~5 s).
REFERENCE_MACS_PER_SECOND = 1.5e8


def evaluation_seconds(graph: Graph, samples: int) -> float:
    """Predicted seconds of one evaluation of `graph` on `samples` samples (from its MACs)."""
    macs = 0
    for op_index in weight_ops(graph):
        op = graph.ops[op_index]
        w = graph.tensors[op.inputs[1]]
        out = graph.tensors[op.outputs[0]]
        positions = int(np.prod(out.shape[1:-1])) if len(out.shape) > 2 else 1
        per_output = w.size // max(1, w.shape[channel_axis(op.kind.value)])
        macs += positions * int(out.shape[-1]) * per_output
    return macs * samples / REFERENCE_MACS_PER_SECOND


def lower_hull(options: list[LayerOption], gain: float) -> list[LayerOption]:
    """The options on the lower convex hull of (bytes, gain * distortion), by increasing bytes:
    the only ones a Lagrangian choice can pick."""
    ordered = sorted(options, key=lambda o: (o.bytes, o.distortion))
    hull: list[LayerOption] = []
    for o in ordered:
        if hull and gain * o.distortion >= gain * hull[-1].distortion and o.bytes >= hull[-1].bytes:
            continue
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = ((h.bytes, gain * h.distortion) for h in hull[-2:])
            x3, y3 = o.bytes, gain * o.distortion
            if (x2 - x1) * (y3 - y1) - (y2 - y1) * (x3 - x1) <= 0:  # hull[-1] lies above the chord
                hull.pop()
            else:
                break
        hull.append(o)
    # keep only points whose distortion falls as bytes grow
    out = []
    for o in hull:
        if not out or o.distortion < out[-1].distortion:
            out.append(o)
    return out


def within_budget(drop: float, fidelity: Fidelity, max_drop: float, min_sqnr_db: float | None) -> bool:
    """A measured candidate meets the budget: its score `drop` is at most `max_drop` points and,
    with `min_sqnr_db`, its output SQNR against the reference is at least that many dB."""
    return drop <= max_drop and (min_sqnr_db is None or fidelity.sqnr_db >= min_sqnr_db)


def sampling_margin(fidelity: Fidelity, z: float) -> float:
    """`z` standard errors (percentage points) of a drop measured on `fidelity.samples` samples.

    The drop is a mean of per-sample differences in [-1, 1] that are non-zero only where the
    candidate's top-1 differs from the reference's, so its variance is at most the disagreement
    rate over the sample count: the margin is z * 100 * sqrt((1 - agreement) / n)."""
    if z <= 0 or fidelity.samples <= 0:
        return 0.0
    disagreement = max(0.0, 1.0 - fidelity.agreement / 100.0)
    return z * 100.0 * math.sqrt(disagreement / fidelity.samples)


def search(problem: Problem, max_drop: float, bias_correction: bool, progress: ProgressFn = _ignore,
           steps: int = 14, refine_evaluations: int = 60, seconds: float | None = None,
           min_sqnr_db: float | None = None, verify_margin: float = 0.0,
           refit_damping: float | None = None) -> tuple[Outcome | None, Outcome]:
    """Step 4: (best outcome meeting the budget or None, smallest measured outcome overall).

    A bisection on the multiplier finds the smallest Lagrangian choice within the budget on the
    search samples; a greedy refinement (at most `refine_evaluations` real evaluations) then
    moves single layers to their next smaller hull option while the measured drop stays within
    the budget, taking the move that saves most bytes each round. The result is verified on all
    samples (a failed refinement falls back to the bisection's choice, then mu is raised).
    `seconds` (optional) bounds the evaluations by their predicted time (`evaluation_seconds`,
    deterministic, so a run repeats exactly): 40 % for the bisection (at least 6 steps), 60 % for
    the refinement.
    `min_sqnr_db` (optional) is a second budget: the output SQNR against the reference model.
    `verify_margin` (z, standard errors): the verification passes a candidate only when its drop
    plus `sampling_margin(fidelity, z)` is within the budget, so that a budget met on disjoint
    verification samples also holds on unseen data with some confidence (0: no margin).
    `refit_damping` (optional): every candidate is refitted (`assemble`, sequential.py) with this
    damping before it is measured; the outcome lists the refitted options.
    Returns (best_within_budget, best_found): best_within_budget is None when no mu met the
    budget on all samples; best_found is then the candidate with the least drop.
    """
    norm = lagrangian_norm(problem)
    evaluated: dict[tuple[int, ...], tuple[Graph, Fidelity, list[LayerOption]]] = {}
    sub_ref = problem.search_anchor

    def assembled(chosen: list[LayerOption]) -> tuple[Graph, Fidelity, list[LayerOption]]:
        """(graph, its fidelity on the search samples, the options it holds), once per choice."""
        key = tuple(id(o) for o in chosen)
        if key not in evaluated:
            g, made, raw = assemble(problem, chosen, bias_correction, refit_damping)
            evaluated[key] = (g, problem.search_eval.fidelity(g, raw), made)
        return evaluated[key]

    def measure_choice(chosen: list[LayerOption]) -> tuple[Graph, Fidelity]:
        return assembled(chosen)[:2]

    def evaluate(mu: float):
        chosen = select(problem, mu)
        g, fid = measure_choice(chosen)
        return chosen, g, fid

    lo, hi = -8.0, 8.0  # log10(mu / norm): lo compresses most, hi keeps int8
    best_t = None
    step = 0
    while step < steps:
        t = (lo + hi) / 2
        chosen, g, fid = evaluate(norm * 10 ** t)
        if step == 0 and seconds is not None:
            took = max(evaluation_seconds(problem.base, problem.search_eval.data.size), 1e-3)
            steps = min(steps, max(6, int(0.4 * seconds / took)))
            refine_evaluations = min(refine_evaluations, int(0.6 * seconds / took))
        step += 1
        progress(Progress("search", step, steps,
                          f"{total_bytes(chosen):.0f} B, drop {sub_ref - fid.score:.2f} pt"))
        if within_budget(sub_ref - fid.score, fid, max_drop, min_sqnr_db):
            best_t, hi = t, t
        else:
            lo = t
    t = best_t if best_t is not None else 8.0
    path = _refine(problem, select(problem, norm * 10 ** t), measure_choice, sub_ref, max_drop,
                   refine_evaluations, progress, min_sqnr_db) if best_t is not None else []
    best_found: Outcome | None = None

    def verify(chosen: list[LayerOption]) -> Outcome:
        nonlocal best_found
        g, _, made = assembled(chosen)
        outcome = Outcome(g, made, problem.full_eval.fidelity(g), problem.reference_score,
                          problem.sensitivities, problem.search_eval.count + problem.full_eval.count)
        progress(Progress("verify", 1, 1, f"{total_bytes(made):.0f} B, drop {outcome.drop:.2f} pt"))
        if best_found is None or outcome.drop < best_found.drop:
            best_found = outcome
        return outcome

    def passes(outcome: Outcome) -> bool:
        margin = sampling_margin(outcome.fidelity, verify_margin)
        return within_budget(outcome.drop + margin, outcome.fidelity, max_drop, min_sqnr_db)

    raises = 0
    if path:
        found = backoff_along(path, verify, passes)
        if found is not None:
            return found, best_found
        raises, t = 1, min(8.0, t + 0.15)  # the bisection's choice (path[0]) failed verification
    while True:
        chosen = evaluate(norm * 10 ** t)[0]
        outcome = verify(chosen)
        if passes(outcome):
            if path:  # here the bisection's choice failed verification and mu was raised
                # A raise moves layers to their next hull option, which can be a long way (lenet300:
                # 25,891 B failed with 1.02 points verified, the raise passed at 27,271 B): refine
                # down from the raised choice again and back off along that path as before.
                again = _refine(problem, chosen, measure_choice, sub_ref, max_drop, refine_evaluations, progress,
                                min_sqnr_db)
                found = backoff_along(again, verify, passes, outcome) if len(again) > 1 else None
                if found is not None:
                    return found, best_found
            return outcome, best_found
        if t >= 8.0:
            return None, best_found
        raises += 1  # fine steps first (x1.41 in mu), so a failed verification costs little size
        t = min(8.0, t + (0.15 if raises <= 20 else 0.5))


def backoff_along(path: list[list[LayerOption]], verify: Callable[[list[LayerOption]], Outcome],
                  passes: Callable[[Outcome], bool], first: Outcome | None = None) -> Outcome | None:
    """The verified outcome of the latest (smallest) choice on the refinement `path` that passes.

    `path[0]` is the bisection's choice and every later entry one more accepted refinement
    move, so the sizes fall along it. The last entry is verified first; when it fails, a
    bisection over the path (each step one verification) finds a passing entry between the
    bisection's choice and the failed one, instead of falling all the way back. Returns None
    when even `path[0]` fails verification. `first`: path[0]'s outcome when already verified.
    """
    last = verify(path[-1])
    if passes(last):
        return last
    if len(path) == 1:
        return None
    first = first if first is not None else verify(path[0])
    if not passes(first):
        return None
    good, bad, best = 0, len(path) - 1, first
    while bad - good > 1:
        mid = (good + bad) // 2
        outcome = verify(path[mid])
        if passes(outcome):
            good, best = mid, outcome
        else:
            bad = mid
    return best


def _refine(problem: Problem, chosen: list[LayerOption], measure_choice, sub_ref: float, max_drop: float,
            budget: int, progress: ProgressFn, min_sqnr_db: float | None = None) -> list[list[LayerOption]]:
    """Greedy single-layer moves down each layer's hull while the measured drop stays within budget.

    Returns the path: `chosen`, then the choice after each accepted move (the last is the result)."""
    hulls = {i: lower_hull(opts, problem.gains[i]) for i, opts in problem.options.items()}
    current = list(chosen)
    path = [current]
    blocked: set[int] = set()
    spent = 0
    while spent < budget:
        best = None
        for k, option in enumerate(current):
            if k in blocked:
                continue
            smaller = [o for o in hulls[option.op_index] if o.bytes < option.bytes]
            if not smaller:
                blocked.add(k)
                continue
            trial = list(current)
            trial[k] = smaller[-1]
            _, fid = measure_choice(trial)
            spent += 1
            if not within_budget(sub_ref - fid.score, fid, max_drop, min_sqnr_db):
                blocked.add(k)
            elif best is None or option.bytes - smaller[-1].bytes > best[0]:
                best = (option.bytes - smaller[-1].bytes, trial, fid)
            if spent >= budget:
                break
        if best is None:
            break
        current = best[1]
        path.append(current)
        progress(Progress("refine", spent, budget,
                          f"{total_bytes(current):.0f} B, drop {sub_ref - best[2].score:.2f} pt"))
    return path


@dataclass(frozen=True)
class PassReport:
    """What a single pass did to an int8 graph: estimated bytes before and after, measured
    fidelity against the graph it was given, and the choice made per weight layer."""

    bytes_before: float
    bytes_after: float
    fidelity: Fidelity
    drop: float
    choices: tuple[tuple[str, str], ...]


def run_pass(graph: Graph, data: Dataset, max_drop: float, space: SearchSpace, rate: RateFn = default_rate,
             search_samples: int = 1000, progress: ProgressFn = _ignore) -> tuple[Graph, PassReport]:
    """Apply the options of `space` to int8 `graph` under `max_drop` (against `graph` itself).

    When no option stays within the budget the graph comes back unchanged (its report says
    so: bytes_after == bytes_before). Raises `DataError`/`ModelError` as the interpreter does.
    """
    from host.passes.rate import graph_bytes  # noqa: PLC0415

    reference = real_outputs(graph, run_samples(graph, data.x, keep=set()).values[graph.outputs[0]])
    problem = prepare(graph, data, reference, space, search_samples, (3,), rate, progress)
    within, _ = search(problem, max_drop, space.bias_correction, progress, refit_damping=space.refit_damping)
    before = graph_bytes(graph, rate).total
    if within is None:
        fid = measure(reference, reference, data.y)
        return graph, PassReport(before, before, fid, 0.0, ())
    choices = tuple((graph.tensors[graph.ops[o.op_index].inputs[1]].name, o.description) for o in within.chosen)
    return within.graph, PassReport(before, graph_bytes(within.graph, rate).total, within.fidelity,
                                    within.drop, choices)
