"""What a weight layer sees: the mean of its input and the covariance of its input patches.

The passes predict the effect of changing a layer's weights by dW without running the
network: the layer output changes by dW applied to the input, so
- its mean changes by `output_shift(dW)` (the layer applied to the mean input map: layers
  are linear, and padding adds zeros), which bias correction removes, and
- what remains has energy trace(dW C dW^T) per sample position, C the covariance of the
  input patches the weights multiply (im2col rows for CONV_2D, per channel for
  DEPTHWISE_CONV_2D, input rows for FULLY_CONNECTED). `distortion(dW)` computes it (with
  the diagonal of C only, for large layers).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from host.graph import Activation, DType, Graph, Op, OpKind, Tensor
from host.reference.common import OpContext, spatial_geometry
from host.reference.conv import im2col
from host.reference.interpreter import KERNELS

# Above this many multiply-adds (out * d * d) `distortion` uses the covariance's diagonal.
_FULL_COVARIANCE_LIMIT = 400_000_000


@dataclass(eq=False)
class LayerStats:
    """Input statistics of one weight op (real values).

    `mean_input`: the mean input map (the input's shape without the batch axis);
    `covariance`: [d, d] patch covariance (CONV_2D: d = kh*kw*c_in in (ky, kx, c) order;
    FULLY_CONNECTED: d = depth), or [c, kh*kw, kh*kw] per channel for DEPTHWISE_CONV_2D;
    `patches`: a sample of input patches [m, d] (DEPTHWISE: [m, kh*kw, c]).
    """

    op_index: int
    mean_input: np.ndarray
    covariance: np.ndarray
    patches: np.ndarray

    def __post_init__(self) -> None:
        self.covariance32 = self.covariance.astype(np.float32)
        if self.covariance.ndim == 2:
            self.variance32 = np.diag(self.covariance).astype(np.float32).copy()


def _patches(graph: Graph, op: Op, x: np.ndarray) -> np.ndarray:
    """Input patches of a weight op for real-valued inputs x [n, ...]."""
    w = graph.tensors[op.inputs[1]]
    if op.kind is OpKind.FULLY_CONNECTED:
        return x.reshape(-1, w.shape[1])
    fh, fw = (w.shape[1], w.shape[2])
    ctx = OpContext(graph, op, 0, [])
    oh, ow, (pt, pb), (pl, pr) = spatial_geometry(ctx, x.shape, fh, fw, op.options)
    xs = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    cols = im2col(xs, fh, fw, op.options, oh, ow)
    if op.kind is OpKind.DEPTHWISE_CONV_2D:
        return cols.reshape(-1, fh * fw, x.shape[3])
    return cols


@dataclass(frozen=True)
class PatchSample:
    """Which samples (`rows`, None: all) and which of their patches (`keep`, None: all) the
    statistics of an op's input use: the im2col size is bounded by subsampling the samples
    first, then the patches (seeded, so two inputs of one shape get the same draw)."""

    rows: np.ndarray | None
    keep: np.ndarray | None

    @classmethod
    def draw(cls, graph: Graph, op_index: int, sample_shape: tuple[int, ...], max_patches: int = 8192,
             seed: int = 0) -> "PatchSample":
        rng = np.random.default_rng(seed)
        n = sample_shape[0]
        size = int(np.prod(sample_shape[1:]))
        n_keep = max(1, min(n, (1 << 24) // max(1, size * 16)))
        rows = np.sort(rng.choice(n, n_keep, replace=False)) if n_keep < n else None
        probe = _patches(graph, graph.ops[op_index], np.zeros((1,) + tuple(sample_shape[1:])))
        count = probe.shape[0] * (n if rows is None else rows.size)
        keep = rng.choice(count, max_patches, replace=False) if count > max_patches else None
        return cls(rows, keep)

    def patches(self, graph: Graph, op_index: int, x: np.ndarray) -> np.ndarray:
        """The chosen patches of real-valued input `x` [n, ...]."""
        x = np.asarray(x, dtype=np.float64)
        if self.rows is not None:
            x = x[self.rows]
        patches = _patches(graph, graph.ops[op_index], x)
        return patches if self.keep is None else patches[self.keep]


def patch_covariance(kind: OpKind, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The covariance of centered patches `a` with centered patches `b` (same count m): [d, d] for
    patches [m, d], per channel [c, k, k] for a DEPTHWISE_CONV_2D's patches [m, k, c]."""
    n = max(1, a.shape[0])
    if kind is OpKind.DEPTHWISE_CONV_2D:
        return np.einsum("mkc,mlc->ckl", a, b) / n
    return a.T @ b / n


def layer_stats(graph: Graph, op_index: int, inputs: np.ndarray, max_patches: int = 8192,
                seed: int = 0) -> LayerStats:
    """Statistics of op `op_index`'s input from real-valued samples `inputs` [n, ...]."""
    op = graph.ops[op_index]
    x = np.asarray(inputs, dtype=np.float64)
    patches = PatchSample.draw(graph, op_index, x.shape, max_patches, seed).patches(graph, op_index, x)
    centered = patches - patches.mean(axis=0, keepdims=True)
    return LayerStats(op_index, x.mean(axis=0), patch_covariance(op.kind, centered, centered), patches)


def distortion(op_kind: OpKind, stats: LayerStats, delta: np.ndarray) -> float:
    """Expected squared error per output position that weight change `delta` adds (bias-corrected)."""
    cov = stats.covariance32
    if op_kind is OpKind.DEPTHWISE_CONV_2D:
        d = delta.reshape(-1, delta.shape[3]).astype(np.float32)  # [kh*kw, c]
        return float(np.einsum("kc,ckl,lc->", d, cov, d, dtype=np.float64))
    d = delta.reshape(delta.shape[0], -1).astype(np.float32)
    if d.shape[0] * d.shape[1] ** 2 > _FULL_COVARIANCE_LIMIT:
        # Large layers: the diagonal of C (weight errors taken as uncorrelated).
        return float(np.sum(d * d * stats.variance32[None, :], dtype=np.float64))
    return float(np.sum((d @ cov) * d, dtype=np.float64))


def output_shift(graph: Graph, op_index: int, delta: np.ndarray, mean_input: np.ndarray) -> np.ndarray:
    """Mean change per output channel of op `op_index` when its real weights change by `delta`."""
    op = graph.ops[op_index]
    out_t = graph.tensors[op.outputs[0]]
    if op.kind is OpKind.FULLY_CONNECTED:
        rows = mean_input.reshape(-1, delta.shape[1])
        return (rows @ delta.T.astype(np.float64)).mean(axis=0)
    x = Tensor("mean", (1,) + tuple(mean_input.shape), DType.FLOAT32)
    w = Tensor("delta", tuple(delta.shape), DType.FLOAT32, data=delta.astype(np.float32))
    y = Tensor("shift", (1,) + tuple(out_t.shape[1:]), DType.FLOAT32)
    options = dataclasses.replace(op.options, activation=Activation.NONE)
    mini = Graph(tensors=[x, w, y], ops=[Op(op.kind, (0, 1), (2,), options)], inputs=[0], outputs=[2])
    ctx = OpContext(mini, mini.ops[0], 0, [mean_input[None].astype(np.float32), w.data])
    result = KERNELS[op.kind](ctx).astype(np.float64)
    return result.reshape(-1, result.shape[-1]).mean(axis=0)
