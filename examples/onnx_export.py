"""Write an example's float model as an ONNX model (NCHW, batch-norm not folded), without TensorFlow.

    python -m examples.onnx_export fashion_cnn        # writes examples/fashion_cnn/model.onnx

The weights come from the example's committed `model_float32.tflite` (read with host.tflite).
The ONNX graph is laid out as a PyTorch export would be: a dynamic batch dimension, NCHW
activations, Conv weights [M, C, kH, kW], Flatten in C, H, W order (so the dense layer's
weight columns are permuted from TFLite's H, W, C order), Gemm with transB=1, and every
convolution followed by a BatchNormalization node with realistic statistics:
- each convolution's pre-BN output is made `k_c * z_c + o_c` of the trained output z_c (k_c,
  o_c drawn from a seeded generator) by scaling its weights and bias;
- the BatchNormalization then holds the mean and variance of that pre-BN output over the
  example's eval inputs (running statistics), gamma and beta such that it exactly undoes the
  affine map: mean_c = o_c + k_c mu_c, var_c = (k_c sigma_c)^2, gamma_c = sqrt(var_c + eps) / k_c,
  beta_c = mu_c (mu_c, sigma_c: the mean and deviation of z_c over the first 100 eval inputs).
So the ONNX model computes the same function as the TFLite float model (up to float rounding),
and importing it exercises the layout conversion and batch-norm folding on real weights.
Only the ops of the Fashion-MNIST examples are converted (CONV_2D, MAX/AVERAGE_POOL_2D with
VALID padding, RESHAPE, FULLY_CONNECTED, SOFTMAX, fused ReLU); other models are refused.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent
EPSILON = 1e-3
SEED = 20261129
STATS_SAMPLES = 100  # the first eval inputs, for the batch-norm statistics


def _conv_pre_bn(graph, op_index: int, x_nhwc: np.ndarray) -> np.ndarray:
    """The trained convolution's output z (before its activation) on `x` [N, H, W, C], NHWC."""
    import dataclasses

    from host.graph import Activation, Graph

    op = graph.ops[op_index]
    single = Graph(tensors=graph.tensors, ops=[dataclasses.replace(
        op, options=dataclasses.replace(op.options, activation=Activation.NONE))],
        inputs=[op.inputs[0]], outputs=[op.outputs[0]])
    from host.reference.interpreter import run

    return np.concatenate([run(single, [x_nhwc[i:i + 1]])[0] for i in range(x_nhwc.shape[0])])


def _activations(graph, x: np.ndarray) -> list[np.ndarray]:
    """Every tensor's value on each sample of `x`, stacked: index like graph.tensors."""
    from host.reference.interpreter import run_all

    per_sample = [run_all(graph, [x[i:i + 1]]) for i in range(x.shape[0])]
    return [None if per_sample[0][t] is None else np.concatenate([s[t] for s in per_sample])
            for t in range(len(graph.tensors))]


def build(name: str):
    """The ONNX ModelProto of examples/NAME (raises SystemExit for an unsupported model)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from host.graph import Activation, OpKind, Padding
    from host.tflite import read_model

    folder = EXAMPLES / name
    graph = read_model(folder / "model_float32.tflite")
    with np.load(folder / "eval.npz") as archive:
        x = archive["x"][:STATS_SAMPLES].astype(np.float32)
    values = _activations(graph, x.reshape((-1,) + graph.tensors[graph.inputs[0]].shape[1:]))
    rng = np.random.default_rng(SEED)
    nodes, initializers = [], []
    names = {graph.inputs[0]: "input"}

    def constant(label: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(array, np.float32), label))
        return label

    for index, op in enumerate(graph.ops):
        layer = f"{op.kind.value.lower()}_{index}"
        source, out = names[op.inputs[0]], f"{layer}_out"
        options = op.options
        if op.kind is OpKind.CONV_2D:
            if options.padding is not Padding.VALID or (options.dilation_h, options.dilation_w) != (1, 1):
                raise SystemExit(f"{name}: {layer}: only VALID, undilated convolutions are converted")
            w = np.asarray(graph.tensors[op.inputs[1]].data, np.float64)  # [M, kH, kW, C]
            b = np.asarray(graph.tensors[op.inputs[2]].data, np.float64)
            z = values[op.outputs[0]] if options.activation is Activation.NONE else None
            if z is None:
                z = _conv_pre_bn(graph, index, values[op.inputs[0]])
            mu, sigma = z.mean(axis=(0, 1, 2)), z.std(axis=(0, 1, 2))
            k = rng.uniform(0.5, 2.0, size=w.shape[0])
            o = rng.normal(0.0, 0.5, size=w.shape[0])
            mean, var = o + k * mu, (k * sigma) ** 2
            nodes.append(helper.make_node(
                "Conv", [source, constant(f"{layer}.weight", (w * k[:, None, None, None]).transpose(0, 3, 1, 2)),
                         constant(f"{layer}.bias", b * k + o)], [f"{layer}_conv"], name=f"{layer}.conv",
                kernel_shape=list(w.shape[1:3]), strides=[options.stride_h, options.stride_w],
                pads=[0, 0, 0, 0]))
            nodes.append(helper.make_node(
                "BatchNormalization", [f"{layer}_conv", constant(f"{layer}.bn.weight", np.sqrt(var + EPSILON) / k),
                                       constant(f"{layer}.bn.bias", mu), constant(f"{layer}.bn.running_mean", mean),
                                       constant(f"{layer}.bn.running_var", var)],
                [f"{layer}_bn" if options.activation is not Activation.NONE else out], name=f"{layer}.bn",
                epsilon=EPSILON))
            if options.activation is Activation.RELU:
                nodes.append(helper.make_node("Relu", [f"{layer}_bn"], [out], name=f"{layer}.relu"))
            elif options.activation is not Activation.NONE:
                raise SystemExit(f"{name}: {layer}: activation {options.activation.value} is not converted")
        elif op.kind in (OpKind.MAX_POOL_2D, OpKind.AVERAGE_POOL_2D):
            if options.padding is not Padding.VALID:
                raise SystemExit(f"{name}: {layer}: only VALID pooling is converted")
            nodes.append(helper.make_node("MaxPool" if op.kind is OpKind.MAX_POOL_2D else "AveragePool", [source],
                                          [out], name=layer, kernel_shape=[options.filter_h, options.filter_w],
                                          strides=[options.stride_h, options.stride_w]))
        elif op.kind is OpKind.RESHAPE:
            nodes.append(helper.make_node("Flatten", [source], [out], name=layer, axis=1))
            names[op.outputs[0]] = out
            flat_nchw = values[op.inputs[0]].shape[1:]  # stored NHWC: (H, W, C)
            continue
        elif op.kind is OpKind.FULLY_CONNECTED:
            if options.activation not in (Activation.NONE, Activation.RELU):
                raise SystemExit(f"{name}: {layer}: activation {options.activation.value} is not converted")
            w = np.asarray(graph.tensors[op.inputs[1]].data, np.float32)  # [out, in]
            producer = next((o for o in graph.ops if op.inputs[0] in o.outputs), None)
            if producer is not None and producer.kind is OpKind.RESHAPE and len(flat_nchw) == 3:
                h, wd, c = flat_nchw  # TFLite flattens H, W, C; ONNX Flatten of NCHW gives C, H, W
                w = w.reshape(-1, h, wd, c).transpose(0, 3, 1, 2).reshape(w.shape[0], -1)
            gemm_out = f"{layer}_gemm" if options.activation is Activation.RELU else out
            nodes.append(helper.make_node("Gemm", [source, constant(f"{layer}.weight", w),
                                                   constant(f"{layer}.bias", graph.tensors[op.inputs[2]].data)],
                                          [gemm_out], name=layer, transB=1))
            if options.activation is Activation.RELU:
                nodes.append(helper.make_node("Relu", [gemm_out], [out], name=f"{layer}.relu"))
        elif op.kind is OpKind.SOFTMAX:
            nodes.append(helper.make_node("Softmax", [source], [out], name=layer, axis=-1))
        else:
            raise SystemExit(f"{name}: {op.kind.value} is not converted by this script")
        names[op.outputs[0]] = out
    input_shape = graph.tensors[graph.inputs[0]].shape  # (1, H, W, C) or (1, features)
    onnx_input = ["N", input_shape[3], input_shape[1], input_shape[2]] if len(input_shape) == 4 else ["N"] + list(
        input_shape[1:])
    output = graph.tensors[graph.outputs[0]]
    model = helper.make_model(
        helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, onnx_input)],
                          [helper.make_tensor_value_info(names[graph.outputs[0]], TensorProto.FLOAT,
                                                         ["N", output.shape[-1]])], initializers),
        opset_imports=[helper.make_opsetid("", 13)], producer_name="examples.onnx_export",
        producer_version="1")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("example", choices=("fashion_cnn",), help="the example to convert")
    parser.add_argument("--out", type=Path, default=None, help="output file (default examples/NAME/model.onnx)")
    args = parser.parse_args(argv)
    model = build(args.example)
    out = args.out or EXAMPLES / args.example / "model.onnx"
    out.write_bytes(model.SerializeToString())
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(model.graph.node)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
