"""Small float models for the pass tests, built as graphs (and written with host.tflite).

`trained_mlp` trains a 3-layer perceptron with numpy on a seeded Gaussian-mixture task so the
tests have a model whose accuracy on labelled data means something; `tiny_cnn` builds a
random CONV/DEPTHWISE/POOL/FC network with batch norm as separate MUL/ADD ops.
"""
from __future__ import annotations

import numpy as np

from host.graph import (
    Activation, Conv2DOptions, DepthwiseConv2DOptions, DType, FullyConnectedOptions, Graph, MulOptions,
    AddOptions, Op, OpKind, Padding, Pool2DOptions, ReshapeOptions, SoftmaxOptions, Tensor,
)


def _t(g: Graph, name, shape, data=None) -> int:
    g.tensors.append(Tensor(name, tuple(shape), DType.FLOAT32, None,
                            None if data is None else np.asarray(data, dtype=np.float32)))
    return len(g.tensors) - 1


def mixture_task(seed: int, n: int, dims: int = 24, classes: int = 8, noise: float = 2.0):
    """Samples x [n, dims] float32 and labels y [n] of a Gaussian mixture (two blobs per class)."""
    rng = np.random.default_rng(1234)  # the task is fixed; `seed` draws the samples
    centers = rng.normal(0, 1.0, size=(classes, 2, dims))
    draw = np.random.default_rng(seed)
    y = draw.integers(0, classes, size=n)
    blob = draw.integers(0, 2, size=n)
    x = centers[y, blob] * 2.0 + draw.normal(0, noise, size=(n, dims))
    return x.astype(np.float32), y.astype(np.int64)


def trained_mlp(hidden: tuple[int, int] = (64, 48), dims: int = 24, classes: int = 8) -> Graph:
    """A float FC-RELU-FC-RELU-FC-SOFTMAX graph fitted to `mixture_task` (seed 0).

    The hidden layers are random (seeded); the output layer is the ridge-regression fit of
    the one-hot labels on the hidden features (closed form, so the model builds in
    milliseconds)."""
    x, y = mixture_task(0, 3000, dims, classes)
    rng = np.random.default_rng(7)
    sizes = (dims,) + hidden
    ws = [rng.normal(0, np.sqrt(2.0 / a), size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(0, 0.1, size=b) for b in sizes[1:]]
    h = x.astype(np.float64)
    for w, b in zip(ws, bs):
        h = np.maximum(h @ w.T + b, 0)
    features = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
    target = np.eye(classes)[y] * 8.0 - 4.0
    solution = np.linalg.solve(features.T @ features + 1.0 * np.eye(features.shape[1]), features.T @ target)
    ws.append(solution[:-1].T)
    bs.append(solution[-1])
    g = Graph()
    current = _t(g, "input", (1, dims))
    g.inputs = [current]
    for i, (w, b) in enumerate(zip(ws, bs)):
        wi = _t(g, f"fc{i}/weights", w.shape, w)
        bi = _t(g, f"fc{i}/bias", b.shape, b)
        out = _t(g, f"fc{i}/out", (1, w.shape[0]))
        act = Activation.RELU if i < len(ws) - 1 else Activation.NONE
        g.ops.append(Op(OpKind.FULLY_CONNECTED, (current, wi, bi), (out,), FullyConnectedOptions(act)))
        current = out
    probs = _t(g, "probs", (1, classes))
    g.ops.append(Op(OpKind.SOFTMAX, (current,), (probs,), SoftmaxOptions(1.0)))
    g.outputs = [probs]
    return g


def tiny_cnn(seed: int = 0, batch_norm: bool = True) -> Graph:
    """A random float CNN: CONV 3x3 (+ MUL/ADD batch norm) -> DEPTHWISE 3x3 -> CONV 1x1 ->
    AVERAGE_POOL -> RESHAPE -> FC -> SOFTMAX, input [1, 12, 10, 3]."""
    rng = np.random.default_rng(seed)
    g = Graph()
    x = _t(g, "input", (1, 12, 10, 3))
    g.inputs = [x]
    w1 = _t(g, "conv1/w", (8, 3, 3, 3), rng.normal(0, 0.4, (8, 3, 3, 3)))
    b1 = _t(g, "conv1/b", (8,), rng.normal(0, 0.1, 8))
    c1 = _t(g, "conv1/out", (1, 6, 5, 8))
    conv_act = Activation.NONE if batch_norm else Activation.RELU
    g.ops.append(Op(OpKind.CONV_2D, (x, w1, b1), (c1,), Conv2DOptions(Padding.SAME, 2, 2, activation=conv_act)))
    current = c1
    if batch_norm:
        m = _t(g, "bn/mul", (8,), rng.uniform(0.5, 1.5, 8))
        a = _t(g, "bn/add", (8,), rng.normal(0, 0.2, 8))
        mo = _t(g, "bn/mul_out", (1, 6, 5, 8))
        ao = _t(g, "bn/add_out", (1, 6, 5, 8))
        g.ops.append(Op(OpKind.MUL, (current, m), (mo,), MulOptions(Activation.NONE)))
        g.ops.append(Op(OpKind.ADD, (mo, a), (ao,), AddOptions(Activation.RELU)))
        current = ao
    wd = _t(g, "dw/w", (1, 3, 3, 8), rng.normal(0, 0.4, (1, 3, 3, 8)))
    bd = _t(g, "dw/b", (8,), rng.normal(0, 0.1, 8))
    d = _t(g, "dw/out", (1, 6, 5, 8))
    g.ops.append(Op(OpKind.DEPTHWISE_CONV_2D, (current, wd, bd), (d,),
                    DepthwiseConv2DOptions(Padding.SAME, 1, 1, 1, activation=Activation.RELU6)))
    w2 = _t(g, "pw/w", (16, 1, 1, 8), rng.normal(0, 0.4, (16, 1, 1, 8)))
    b2 = _t(g, "pw/b", (16,), rng.normal(0, 0.1, 16))
    p = _t(g, "pw/out", (1, 6, 5, 16))
    g.ops.append(Op(OpKind.CONV_2D, (d, w2, b2), (p,), Conv2DOptions(Padding.VALID, activation=Activation.RELU)))
    pool = _t(g, "pool", (1, 1, 1, 16))
    g.ops.append(Op(OpKind.AVERAGE_POOL_2D, (p,), (pool,), Pool2DOptions(Padding.VALID, 1, 1, 6, 5)))
    shape = len(g.tensors)
    g.tensors.append(Tensor("shape", (2,), DType.INT32, None, np.array([1, 16], dtype=np.int32)))
    flat = _t(g, "flat", (1, 16))
    g.ops.append(Op(OpKind.RESHAPE, (pool, shape), (flat,), ReshapeOptions((1, 16))))
    wf = _t(g, "fc/w", (5, 16), rng.normal(0, 0.5, (5, 16)))
    bf = _t(g, "fc/b", (5,), rng.normal(0, 0.1, 5))
    logits = _t(g, "logits", (1, 5))
    g.ops.append(Op(OpKind.FULLY_CONNECTED, (flat, wf, bf), (logits,), FullyConnectedOptions(Activation.NONE)))
    probs = _t(g, "probs", (1, 5))
    g.ops.append(Op(OpKind.SOFTMAX, (logits,), (probs,), SoftmaxOptions(1.0)))
    g.outputs = [probs]
    return g
