"""Small valid .dcb models for the device-link tests: one FULLY_CONNECTED layer the firmware's
runtime can run (host.model_format.pack, raw codec so the size follows `weights`)."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from host.container.hmac_tag import add_device_tag
from host.graph import Activation, FullyConnectedOptions, Op, OpKind
from host.model_format import pack
from tests.op_models import GraphMaker

#: The key the tests provision into every board.
DEVICE_KEY = hashlib.sha256(b"dcagent link test device key v1").digest()
OTHER_KEY = hashlib.sha256(b"dcagent link test other key v1").digest()
#: Outputs of the model's one layer.
OUTPUTS = 10


def version_code(major: int, minor: int = 0, revision: int = 0) -> int:
    """The u32 model version as MCUmgr shows it ("major.minor.revision")."""
    return major << 24 | minor << 16 | revision


def graph(weights: int = 3000, seed: int = 0):
    """input [1, weights // 10] -> FULLY_CONNECTED (per-channel int8 weights, int32 bias) -> [1, 10]."""
    inputs = max(1, weights // OUTPUTS)
    g = GraphMaker(seed)
    x = g.activation("input", (1, inputs))
    w = g.weights("fc/weights", (OUTPUTS, inputs), 0)
    b = g.bias("fc/bias", g.scale_of(x), w, OUTPUTS)
    y = g.activation("output", (1, OUTPUTS))
    return g.finish(OpKind.FULLY_CONNECTED, (x, w, b), y, FullyConnectedOptions(Activation.NONE, False))


def model(version: int, weights: int = 3000, seed: int = 0, name: str = "kws01") -> bytes:
    """An untagged container: one fully connected layer with `weights` int8 levels (raw codec)."""
    return pack(graph(weights, seed), name=name, version=version, target="cortex-m4", codec="raw")


def tagged(version: int, weights: int = 3000, seed: int = 0, key: bytes = DEVICE_KEY, **kw) -> bytes:
    """model(...) with the device tag of `key`."""
    return add_device_tag(model(version, weights, seed, **kw), key)


def chain_graph(layers: int, width: int, seed: int = 0):
    """input [1, width] -> `layers` x FULLY_CONNECTED(width -> width): every layer's weights
    (width * width int8) are live only while it runs, so decoding per layer needs a fraction
    of the arena that decoding everything at load does (they are CABAC-coded: bell-shaped)."""
    g = GraphMaker(seed)
    x = g.activation("input", (1, width))
    first = x
    for k in range(layers):
        w = g.weights(f"fc{k}/weights", (width, width), 0)
        # bell-shaped like trained weights, so CABAC beats raw (raw tensors are read in place)
        g.graph.tensors[w].data = np.clip(np.rint(g.rng.normal(0, 8, size=(width, width))), -127, 127).astype(np.int8)
        b = g.bias(f"fc{k}/bias", g.scale_of(x), w, width)
        y = g.activation(f"fc{k}/out", (1, width))
        g.graph.ops.append(Op(OpKind.FULLY_CONNECTED, (x, w, b), (y,), FullyConnectedOptions(Activation.NONE, False)))
        x = y
    g.graph.inputs, g.graph.outputs = [first], [x]
    return g.graph


def tagged_graph(graph, version: int, name: str, key: bytes = DEVICE_KEY) -> bytes:
    """`graph` packed losslessly (CABAC) and tagged for `key`."""
    return add_device_tag(pack(graph, name=name, version=version, target="cortex-m4"), key)


#: The MLPerf Tiny int8 reference models (shared, read-only) and their input sizes.
MLPERF_DIR = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf-tiny"
MLPERF_MODELS = ("kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8")


@functools.lru_cache(maxsize=None)
def mlperf_graph(name: str):
    """The graph of MLPerf Tiny model `name` (host.tflite.read_model)."""
    from host.tflite import read_model  # noqa: PLC0415 - only the MLPerf tests need the reader
    return read_model((MLPERF_DIR / f"{name}.tflite").read_bytes())


@functools.lru_cache(maxsize=None)
def mlperf_container(name: str, version: int = 1) -> bytes:
    """MLPerf Tiny model `name` compressed losslessly (`dcagent compress --lossless`: pack with
    CABAC) and tagged with DEVICE_KEY."""
    return tagged_graph(mlperf_graph(name), version, name)


def one_scale(graph):
    """A copy of `graph` whose CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights are requantized
    to one scale per tensor (the largest channel's; TFLite per-tensor quantization), each int32 bias
    re-expressed on it: the form `pack` writes for the compressor's one-step options."""
    import copy  # noqa: PLC0415
    import dataclasses  # noqa: PLC0415

    from host.graph import Quantization  # noqa: PLC0415

    g = copy.deepcopy(graph)
    for op in g.ops:
        if op.kind not in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
            continue
        w = g.tensors[op.inputs[1]]
        q = w.quantization
        scales = np.broadcast_to(q.scale, (w.shape[q.axis],)).astype(np.float64)
        shape = [1] * w.data.ndim
        shape[q.axis] = -1
        top = np.float32(scales.max())
        data = np.clip(np.rint(w.data * scales.reshape(shape) / float(top)), -127, 127).astype(np.int8)
        g.tensors[op.inputs[1]] = dataclasses.replace(w, data=data, quantization=Quantization([top], [0], 0))
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = g.tensors[op.inputs[2]]
            s_in = np.float32(g.tensors[op.inputs[0]].quantization.scale[0])
            bias = np.rint(b.data * (s_in * scales.astype(np.float32)).astype(np.float64) / float(s_in * top))
            g.tensors[op.inputs[2]] = dataclasses.replace(b, data=bias.astype(np.int32),
                                                          quantization=Quantization([s_in * top], [0], 0))
    return g
