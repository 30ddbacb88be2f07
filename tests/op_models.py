"""Build single-op int8 graphs for the per-op tests (random weights and quantization, seeded)."""
from __future__ import annotations

import numpy as np

from host.graph import DType, Graph, Op, OpKind, Quantization, Tensor


class GraphMaker:
    """Accumulates tensors for one single-op graph."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.graph = Graph()

    def add(self, name, shape, dtype=DType.INT8, scale=None, zero=None, axis=0, data=None) -> int:
        quant = None
        if scale is not None:
            quant = Quantization(np.atleast_1d(np.asarray(scale, dtype=np.float32)),
                                 np.atleast_1d(np.asarray(zero if zero is not None else 0)), axis)
        self.graph.tensors.append(Tensor(name, tuple(shape), dtype, quant, data))
        return len(self.graph.tensors) - 1

    def activation(self, name, shape) -> int:
        """An int8 activation tensor with a random scale and zero point."""
        scale = float(self.rng.uniform(0.005, 0.1))
        zero = int(self.rng.integers(-100, 100))
        return self.add(name, shape, DType.INT8, scale, zero)

    def weights(self, name, shape, axis, per_channel=True) -> int:
        channels = shape[axis]
        scale = self.rng.uniform(0.001, 0.02, size=channels if per_channel else 1)
        data = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        return self.add(name, shape, DType.INT8, scale, np.zeros(scale.size, dtype=np.int64), axis, data)

    def bias(self, name, input_scale, weight_index, channels) -> int:
        wq = self.graph.tensors[weight_index].quantization
        scale = (np.float32(input_scale) * wq.scale).astype(np.float32)  # per channel iff weights are
        data = self.rng.integers(-5000, 5000, size=channels).astype(np.int32)
        return self.add(name, (channels,), DType.INT32, scale, np.zeros(scale.size, dtype=np.int64), 0, data)

    def const(self, name, values, dtype=DType.INT32) -> int:
        data = np.asarray(values, dtype=dtype.numpy)
        return self.add(name, data.shape, dtype, data=data)

    def finish(self, kind: OpKind, inputs, output: int, options) -> Graph:
        self.graph.ops.append(Op(kind, tuple(inputs), (output,), options))
        self.graph.inputs = [i for i in inputs if i >= 0 and self.graph.tensors[i].data is None]
        self.graph.outputs = [output]
        return self.graph

    def scale_of(self, index: int) -> float:
        return float(self.graph.tensors[index].quantization.scale[0])
