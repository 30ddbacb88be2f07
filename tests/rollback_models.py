"""Models for the rollback tests: signed, hash-valid containers a board accepts into a slot but
cannot run, and a small runnable one to fall back to.

`wide_model` is a real network (3x3 CONV_2D with 48 channels on a 96x96x3 input, then a
global AVERAGE_POOL_2D): 2.6 KB of container, but its 96x96x48 activation needs ~472 KB of
model arena, more than the native board's 384 KB (firmware/boards/native.mk ARENA_SIZE). Its
`target.min_ram` is what `pack` measured, or, with `claimed_ram`, a smaller value written by
hand into the metadata: the publisher's mistake that only the board's load can catch.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from host.container.metadata import Target
from host.container.reader import open_container
from host.container.writer import TensorPayload, build_container
from host.graph import Activation, Conv2DOptions, DType, Op, OpKind, Padding, Pool2DOptions
from host.model_format import pack
from tests.op_models import GraphMaker

NATIVE_ARENA = 393216   # firmware/boards/native.mk


def _wide_graph(channels: int, side: int, seed: int):
    g = GraphMaker(seed)
    x = g.activation("input", (1, side, side, 3))
    w = g.weights("conv/w", (channels, 3, 3, 3), axis=0)
    b = g.bias("conv/b", g.scale_of(x), w, channels)
    c = g.activation("conv/out", (1, side, side, channels))
    cq = g.graph.tensors[c].quantization
    y = g.add("pool/out", (1, 1, 1, channels), DType.INT8, float(cq.scale[0]), int(cq.zero_point[0]))
    g.graph.ops = [
        Op(OpKind.CONV_2D, (x, w, b), (c,), Conv2DOptions(Padding.SAME, 1, 1, 1, 1, Activation.RELU)),
        Op(OpKind.AVERAGE_POOL_2D, (c,), (y,), Pool2DOptions(Padding.VALID, side, side, side, side, Activation.NONE)),
    ]
    g.graph.inputs = [x]
    g.graph.outputs = [y]
    return g.graph


def with_target(data: bytes, target: Target) -> bytes:
    """The unsigned container `data` rebuilt with metadata `target` (payloads unchanged)."""
    c = open_container(data)
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype, e.delta)
                for i, e in enumerate(c.entries)]
    return build_container(dataclasses.replace(c.metadata, target=target), payloads)


def wide_model(version: int, *, arch: str = "generic", claimed_ram: int | None = None, seed: int = 0,
               channels: int = 48, side: int = 96, name: str = "wide") -> bytes:
    """An unsigned container of the wide network (see module docstring)."""
    data = pack(_wide_graph(channels, side, seed), name=name, version=version, target=arch)
    if claimed_ram is not None:
        target = open_container(data).metadata.target
        data = with_target(data, Target(target.arch, claimed_ram, target.min_flash))
    return data


def input_of(data: bytes, seed: int = 0) -> np.ndarray:
    """A random int8 input of the model's graph input shape, with a leading sample axis."""
    from host.runtime import Runtime
    spec = Runtime(data).inputs[0]
    return np.random.default_rng(seed).integers(-128, 128, size=(1, *spec.shape), dtype=np.int8)
