"""A realistic "last layers retrained" update of an example model, for delta-update measurements.

`finetune(graph, eval_set, layers=1)` takes an int8 example model (the graph IR of its
`model_int8.tflite`), runs the reference interpreter over the evaluation inputs to get the
activations that enter its last `layers` FULLY_CONNECTED layers, trains those layers in
float (their dequantized weights as the start; softmax cross-entropy on the eval labels;
plain gradient descent, `steps` full-batch steps), and quantizes them again the way the
TFLite converter does (per output channel symmetric int8 weights, scale = max|w| / 127;
int32 biases at input scale x weight scale). Everything before those layers is unchanged:
the update a fleet sees when a product team retrains the classifier head on new data.
`python -m examples.finetune EXAMPLE` prints the accuracy before and after.
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from examples.evaluation import EvalSet, load_eval, quantize_input
from host.graph import Graph, OpKind
from host.graph.ops import Activation
from host.reference import run, run_all

EXAMPLES = Path(__file__).resolve().parent


@dataclass
class _Layer:
    op_index: int
    weights: int      # tensor indices
    bias: int
    w: np.ndarray     # float (out, in)
    b: np.ndarray     # float (out,)
    relu: bool


def quantized_inputs(graph: Graph, data: EvalSet) -> np.ndarray:
    """The eval inputs quantized for the int8 model, shaped (N, *input shape)."""
    tensor = graph.tensors[graph.inputs[0]]
    scale, zero_point = tensor.quantization.single()
    return quantize_input(data.x, scale, zero_point).reshape((len(data.x), *tensor.shape))


def _layers(graph: Graph, count: int) -> list[_Layer]:
    fcs = [i for i, op in enumerate(graph.ops) if op.kind is OpKind.FULLY_CONNECTED]
    if len(fcs) < count:
        raise ValueError(f"the model has {len(fcs)} FULLY_CONNECTED layers, {count} asked")
    layers = []
    for index in fcs[-count:]:
        op = graph.ops[index]
        w_t, b_t = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[2]]
        w = w_t.data.astype(np.float64) * w_t.quantization.scale.astype(np.float64)[:, None]
        b = b_t.data.astype(np.float64) * b_t.quantization.scale.astype(np.float64)
        relu = getattr(op.options, "activation", Activation.NONE) is not Activation.NONE
        layers.append(_Layer(index, op.inputs[1], op.inputs[2], w, b, relu))
    return layers


def _forward(layers: list[_Layer], h: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    acts = [h]
    for k, layer in enumerate(layers):
        z = acts[-1] @ layer.w.T + layer.b
        if k < len(layers) - 1:
            z = np.maximum(z, 0.0) if layer.relu else z
            acts.append(z)
        else:
            return acts, z
    raise AssertionError("no layers")


def finetune(graph: Graph, data: EvalSet, *, layers: int = 1, steps: int = 30, learning_rate: float = 0.05,
             samples: int | None = None) -> Graph:
    """A copy of `graph` whose last `layers` FULLY_CONNECTED layers were trained `steps` more
    gradient-descent steps on `data` (its first `samples` samples) and quantized again.

    Raises ValueError when the model has fewer FULLY_CONNECTED layers.
    """
    out = copy.deepcopy(graph)
    chosen = _layers(out, layers)
    x = quantized_inputs(out, data)[:samples]
    y = data.y[:samples]
    first = out.ops[chosen[0].op_index]
    src = out.tensors[first.inputs[0]]
    s_in, zp_in = src.quantization.single()
    feats = np.stack([run_all(out, [sample])[first.inputs[0]].reshape(-1) for sample in x]).astype(np.float64)
    h = (feats - zp_in) * s_in
    onehot = np.eye(chosen[-1].w.shape[0])[y]
    for _ in range(steps):
        acts, logits = _forward(chosen, h)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / len(h)
        for k in range(len(chosen) - 1, -1, -1):
            layer = chosen[k]
            dw, db = grad.T @ acts[k], grad.sum(axis=0)
            if k > 0:
                grad = (grad @ layer.w) * (acts[k] > 0 if chosen[k - 1].relu else 1.0)
            layer.w -= learning_rate * dw
            layer.b -= learning_rate * db
    for layer in chosen:
        op = out.ops[layer.op_index]
        w_t, b_t = out.tensors[layer.weights], out.tensors[layer.bias]
        x_scale = np.float32(out.tensors[op.inputs[0]].quantization.scale[0])
        w_scale = (np.abs(layer.w).max(axis=1) / 127.0).astype(np.float32)
        w_scale[w_scale == 0] = np.float32(1e-8)
        w_t.data = np.clip(np.round(layer.w / w_scale[:, None]), -127, 127).astype(np.int8)
        w_t.quantization.scale = w_scale
        b_scale = (x_scale * w_scale).astype(np.float32)
        b_t.data = np.round(layer.b / b_scale.astype(np.float64)).astype(np.int32)
        b_t.quantization.scale = b_scale
    return out


def accuracy(graph: Graph, data: EvalSet, samples: int | None = None) -> float:
    """Fraction of the first `samples` eval samples the int8 graph classifies correctly (reference interpreter)."""
    x = quantized_inputs(graph, data)[:samples]
    y = data.y[:samples]
    hits = sum(int(np.argmax(run(graph, [sample])[0])) == int(label) for sample, label in zip(x, y))
    return hits / len(y)


def load(example: str) -> tuple[Graph, EvalSet]:
    """The int8 graph and eval set of `examples/<example>`."""
    from host.tflite import read_model

    folder = EXAMPLES / example
    return read_model((folder / "model_int8.tflite").read_bytes()), load_eval(folder / "eval.npz")


if __name__ == "__main__":  # pragma: no cover - a manual check
    name = sys.argv[1] if len(sys.argv) > 1 else "har"
    graph, data = load(name)
    tuned = finetune(graph, data)
    print(f"{name}: accuracy {accuracy(graph, data):.3f} -> {accuracy(tuned, data):.3f}")
