"""Synthetic .dcb containers of a chosen size for the fleet tests and the fan-out benchmark.

One int8 tensor of random levels (seeded, so the same arguments give the same bytes), a
one-node graph, and the model name/version/target asked for; optionally a delta against a
base container. Nothing here is a real network: it exercises delivery, not inference.
"""
from __future__ import annotations

import numpy as np

from host.container.layout import LevelDtype
from host.container.metadata import Compressor, Graph, Metadata, ModelInfo, Node, Quantization, Target, TensorInfo
from host.container.writer import TensorPayload, build_container


def make_container(*, size: int = 100_000, name: str = "synthetic", version: int = 1, arch: str = "cortex-m4",
                   min_flash: int = 131072, min_ram: int = 16384, seed: int = 0,
                   base_sha256: bytes | None = None) -> bytes:
    """An unsigned container of about `size` bytes (levels + ~400 bytes of header/metadata/trailer)."""
    levels = max(1, size - 400)
    rng = np.random.default_rng(seed)
    values = rng.integers(-128, 128, size=levels, dtype=np.int64)
    q = Quantization(scale=(0.05,), zero_point=(0,), axis=0)
    weight = TensorInfo(name="w", shape=(levels,), dtype=LevelDtype.INT8, quantization=q)
    act_in = TensorInfo(name="x", shape=(1,), dtype=LevelDtype.INT8, quantization=q)
    act_out = TensorInfo(name="y", shape=(1,), dtype=LevelDtype.INT8, quantization=q)
    meta = Metadata(
        model=ModelInfo(name=name, version=version),
        target=Target(arch=arch, min_ram=min_ram, min_flash=min_flash),
        compressor=Compressor(name="synthetic", version="1"),
        # Operands: 0 = the coded tensor w, then the values 1 = x, 2 = y.
        graph=Graph(inputs=(1,), outputs=(2,), nodes=(Node(op="op#255", inputs=(1, 0), outputs=(2,)),),  # no device op
                    values=(act_in, act_out)),
        tensors=(weight,),
    )
    return build_container(meta, [TensorPayload.raw(values, LevelDtype.INT8, delta=base_sha256 is not None)],
                           base_sha256=base_sha256)
