"""Small valid .dcb models for the device-link tests (raw codec, built with host.container)."""
from __future__ import annotations

import hashlib

import numpy as np

from host.container.hmac_tag import add_device_tag
from host.container.layout import LevelDtype
from host.container.metadata import (Compressor, Graph, Metadata, ModelInfo, Node, Quantization, Target,
                                     TensorInfo)
from host.container.writer import TensorPayload, build_container

#: The key the tests provision into every board.
DEVICE_KEY = hashlib.sha256(b"dcagent link test device key v1").digest()
OTHER_KEY = hashlib.sha256(b"dcagent link test other key v1").digest()


def version_code(major: int, minor: int = 0, revision: int = 0) -> int:
    """The u32 model version as MCUmgr shows it ("major.minor.revision")."""
    return major << 24 | minor << 16 | revision


def model(version: int, weights: int = 3000, seed: int = 0, name: str = "kws01") -> bytes:
    """An untagged container: one fully connected layer with `weights` int8 levels."""
    outputs = 10
    inputs = max(1, weights // outputs)
    rng = np.random.default_rng(seed)
    levels = rng.integers(-127, 128, size=(outputs, inputs), dtype=np.int32)
    meta = Metadata(
        model=ModelInfo(name, version),
        target=Target("cortex-m4", min_ram=4096, min_flash=weights + 4096),
        compressor=Compressor("dcagent-tests", "0.1.0", {"coder": "raw"}),
        graph=Graph(("input",), ("output",),
                    (Node("FULLY_CONNECTED", ("input", "fc/weights"), ("output",), {"keep_dims": False}),),
                    (TensorInfo("input", (1, inputs), LevelDtype.INT8, Quantization((0.05,), (-3,), 0)),
                     TensorInfo("output", (1, outputs), LevelDtype.INT8, Quantization((0.1,), (0,), 0)))),
        tensors=(TensorInfo("fc/weights", (outputs, inputs), LevelDtype.INT8,
                            Quantization(tuple(0.01 for _ in range(outputs)), tuple(0 for _ in range(outputs)), 0)),),
    )
    return build_container(meta, [TensorPayload.raw(levels.reshape(-1), LevelDtype.INT8)])


def tagged(version: int, weights: int = 3000, seed: int = 0, key: bytes = DEVICE_KEY, **kw) -> bytes:
    """model(...) with the device tag of `key`."""
    return add_device_tag(model(version, weights, seed, **kw), key)
