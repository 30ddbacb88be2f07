"""Small ONNX models built with onnx.helper (no PyTorch), for the importer tests.

`OnnxBuilder` keeps nodes and initializers; each `model_*` function returns serialized bytes
of a model with one float32 input `x` whose batch dimension is dynamic ("N").
"""
from __future__ import annotations

import numpy as np


class OnnxBuilder:
    """Accumulates nodes and constants; `bytes()` makes a checked ModelProto."""

    def __init__(self, seed: int = 0, opset: int = 13) -> None:
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.count = 0

    def const(self, array, name: str | None = None) -> str:
        from onnx import numpy_helper

        self.count += 1
        name = name or f"c{self.count}"
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weights(self, *shape, scale: float = 0.3) -> str:
        return self.const((self.rng.normal(size=shape) * scale).astype(np.float32))

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> str | list[str]:
        from onnx import helper

        self.count += 1
        outs = [f"{op.lower()}{self.count}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=f"{op}_{self.count}", **attrs))
        return outs[0] if n_out == 1 else outs

    def conv(self, x: str, c_in: int, c_out: int, k: int = 3, group: int = 1, bias: bool = True, **attrs) -> str:
        inputs = [x, self.weights(c_out, c_in // group, k, k)]
        if bias:
            inputs.append(self.weights(c_out, scale=0.1))
        return self.node("Conv", inputs, group=group, **attrs)

    def batch_norm(self, x: str, channels: int) -> str:
        rng = self.rng
        params = [rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.2, channels), rng.normal(0, 0.3, channels),
                  rng.uniform(0.3, 2.0, channels)]
        return self.node("BatchNormalization", [x] + [self.const(p.astype(np.float32)) for p in params],
                         epsilon=1e-5)

    def bytes(self, input_shape, output: str | list[str], input_name: str = "x", rank: int = 2) -> bytes:
        """Serialized model; outputs get inferred shapes (symbolic dims of `rank` where inference has none)."""
        import onnx
        from onnx import TensorProto, helper

        outputs = [output] if isinstance(output, str) else output
        graph = helper.make_graph(
            self.nodes, "test", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
            [], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model, data_prop=True).graph.value_info}
        for name in outputs:
            value = inferred.get(name)
            if value is None or not value.type.tensor_type.HasField("shape"):
                value = helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"d{i}" for i in range(rank)])
            model.graph.output.append(value)
        onnx.checker.check_model(model)
        return model.SerializeToString()


def model_conv_bn_pool_gemm() -> bytes:
    """Conv (symmetric pads: SAME) + BN + ReLU, MaxPool, Conv (VALID) + BN + Clip(0, 6),
    Flatten of a 16-channel map (feature order for the Gemm), Gemm (transB) + Softmax."""
    b = OnnxBuilder(1)
    x = b.node("Relu", [b.batch_norm(b.conv("x", 3, 8, pads=[1, 1, 1, 1]), 8)])
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.batch_norm(b.conv(x, 8, 16, bias=False), 16)
    x = b.node("Clip", [x, b.const(np.float32(0)), b.const(np.float32(6))])
    x = b.node("Flatten", [x])
    x = b.node("Gemm", [x, b.weights(10, 16 * 3 * 3, scale=0.1), b.weights(10)], transB=1)
    return b.bytes(["N", 3, 10, 10], b.node("Softmax", [x], axis=-1))


def model_depthwise_residual() -> bytes:
    """Strided conv with PyTorch-style pads (explicit PAD), depthwise (multiplier 1 and 2),
    a residual Add with a fused ReLU, HardSwish, GlobalAveragePool, Flatten, MatMul + Add."""
    b = OnnxBuilder(2, opset=14)
    x = b.conv("x", 4, 8, strides=[2, 2], pads=[1, 1, 1, 1])
    x = b.node("Relu", [x])
    y = b.conv(x, 8, 8, group=8, pads=[1, 1, 1, 1])
    y = b.node("Relu", [b.batch_norm(y, 8)])
    y = b.conv(y, 8, 8, k=1)
    x = b.node("Relu", [b.node("Add", [x, y])])
    x = b.conv(x, 8, 16, group=8, pads=[1, 1, 1, 1])
    x = b.node("HardSwish", [x])
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x])])
    x = b.node("Add", [b.node("MatMul", [x, b.weights(16, 5)]), b.weights(5)])
    return b.bytes(["N", 4, 8, 8], b.node("Sigmoid", [x]))


def model_shapes_and_pools() -> bytes:
    """Standalone BN on the input (MUL + ADD), Mul/Sub/Div by constants, AveragePool with
    SAME-like pads, Pad + Conv, channel Concat, ReduceMean over H, W, exporter-style reshape
    (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, folded), Transpose relabelling."""
    b = OnnxBuilder(3)
    x = b.batch_norm("x", 2)
    x = b.node("Mul", [x, b.const(np.float32(1.5))])
    x = b.node("Sub", [x, b.const(np.array([0.1, -0.2], np.float32).reshape(1, 2, 1, 1))])
    x = b.node("Div", [x, b.const(np.float32(2.0))])
    a = b.node("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    c = b.conv(b.node("Pad", [x, b.const(np.array([0, 0, 2, 1, 0, 0, 0, 1], np.int64))]), 2, 6, pads=[0, 0, 0, 0])
    c = b.node("MaxPool", [c], kernel_shape=[2, 2], strides=[1, 1], pads=[0, 0, 1, 1])
    x = b.node("Concat", [b.conv(a, 2, 6, pads=[1, 1, 1, 1]), c], axis=1)
    m = b.node("ReduceMean", [x], axes=[2, 3], keepdims=1)
    x = b.node("Mul", [x, m])
    t = b.node("Transpose", [x], perm=[0, 2, 3, 1])
    t = b.node("Transpose", [t], perm=[0, 3, 1, 2])
    shape = b.node("Shape", [t])
    batch = b.node("Unsqueeze", [b.node("Gather", [shape, b.const(np.array(0, np.int64))], axis=0),
                                 b.const(np.array([0], np.int64))])
    x = b.node("Reshape", [t, b.node("Concat", [batch, b.const(np.array([-1], np.int64))], axis=0)])
    x = b.node("Gemm", [x, b.weights(12 * 7 * 6, 4, scale=0.05)])
    return b.bytes(["N", 2, 7, 6], b.node("Softmax", [x]))


def model_nhwc_output() -> bytes:
    """A conv whose NCHW result is transposed to NHWC (stored as is) and a second output."""
    b = OnnxBuilder(4)
    x = b.conv("x", 3, 5, pads=[1, 1, 1, 1], strides=[2, 2])
    nhwc = b.node("Transpose", [b.node("Relu", [x])], perm=[0, 2, 3, 1])
    return b.bytes([1, 3, 8, 8], [nhwc, b.node("GlobalMaxPool", [x])])


def model_opset11() -> bytes:
    """Opset 11 forms: Clip bounds as inputs, Squeeze axes as an attribute, Softmax axis=1."""
    b = OnnxBuilder(5, opset=11)
    x = b.conv("x", 1, 4, pads=[1, 1, 1, 1])
    x = b.node("Clip", [x, b.const(np.float32(0))])
    x = b.node("Squeeze", [b.node("GlobalAveragePool", [x])], axes=[2, 3])
    x = b.node("Gemm", [x, b.weights(4, 3), b.weights(3)], alpha=0.5, beta=2.0)
    return b.bytes(["N", 1, 6, 6], b.node("Softmax", [x], axis=1))


MODELS = {
    "conv_bn_pool_gemm": model_conv_bn_pool_gemm,
    "depthwise_residual": model_depthwise_residual,
    "shapes_and_pools": model_shapes_and_pools,
    "nhwc_output": model_nhwc_output,
    "opset11": model_opset11,
}


def model_unsupported() -> bytes:
    """Unsupported LeakyRelu (node 1), Resize (3) and Tanh (4) around supported Conv nodes."""
    b = OnnxBuilder(6)
    x = b.node("LeakyRelu", [b.conv("x", 4, 4, pads=[1, 1, 1, 1])], alpha=0.1)
    x = b.conv(x, 4, 4, group=2, pads=[1, 1, 1, 1])
    x = b.node("Resize", [x, "", b.const(np.array([1, 1, 2, 2], np.float32))], mode="nearest")
    return b.bytes(["N", 4, 4, 4], b.node("Tanh", [x]), rank=4)


def model_classifier(seed: int = 7) -> bytes:
    """A small conv classifier for the end-to-end test: 1x12x12 input, 4 classes."""
    b = OnnxBuilder(seed)
    x = b.node("Relu", [b.batch_norm(b.conv("x", 1, 6, pads=[1, 1, 1, 1]), 6)])
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Relu", [b.batch_norm(b.conv(x, 6, 8, strides=[2, 2], pads=[1, 1, 1, 1]), 8)])
    x = b.node("Flatten", [x])
    x = b.node("Gemm", [x, b.weights(4, 8 * 3 * 3, scale=0.2), b.weights(4)], transB=1)
    return b.bytes(["N", 1, 12, 12], b.node("Softmax", [x]))
