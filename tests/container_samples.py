"""Small deterministic containers and byte surgery for the container tests and golden vectors."""
from __future__ import annotations

import hashlib

import numpy as np

from host.container import layout
from host.container.layout import LevelDtype
from host.container.metadata import (Compressor, Graph, Metadata, ModelInfo, Node, Quantization, Target,
                                     TensorInfo)
from host.container.signing import private_key_from_seed
from host.container.writer import TensorPayload, build_container

TEST_PUBLISHER_SEED = hashlib.sha256(b"dcagent container test publisher key v1").digest()
TEST_OTHER_SEED = hashlib.sha256(b"dcagent container test other key v1").digest()
TEST_DEVICE_KEY = hashlib.sha256(b"dcagent container test device key v1").digest()


def publisher_key():
    """The fixed Ed25519 test key (constant seed, so signatures are deterministic)."""
    return private_key_from_seed(TEST_PUBLISHER_SEED)


def other_key():
    """A second fixed key, to check that a wrong key is refused."""
    return private_key_from_seed(TEST_OTHER_SEED)


SAMPLE_LEVELS = (
    np.array([((i * 37) % 255) - 127 for i in range(16)], dtype=np.int32),
    np.array([-70000, 5, 123456, -2], dtype=np.int32),
    np.array([300, -300, 0, 1, -32768, 32767, 7, -7], dtype=np.int32),
)


def sample_metadata(version: int = 1) -> Metadata:
    """Metadata of a tiny conv + fully connected model with the three SAMPLE_LEVELS tensors."""
    tensors = (
        TensorInfo("conv/weights", (4, 1, 2, 2), LevelDtype.INT8, Quantization((0.5, 0.25, 0.125, 0.0625), (0, 0, 0, 0), 0)),
        TensorInfo("conv/bias", (4,), LevelDtype.INT32, Quantization((0.001, 0.002, 0.003, 0.004), (0, 0, 0, 0), 0)),
        TensorInfo("fc/weights", (2, 4), LevelDtype.INT16, Quantization((0.0078125,), (3,), 0)),
    )
    values = (
        TensorInfo("input", (1, 3, 3, 1), LevelDtype.INT8, Quantization((0.0039215686,), (-128,), 0)),
        TensorInfo("conv/out", (1, 2, 2, 4), LevelDtype.INT8, Quantization((0.05,), (-5,), 0)),
        TensorInfo("output", (1, 2), LevelDtype.INT8, Quantization((0.1,), (0,), 0)),
    )
    nodes = (
        Node("CONV_2D", (3, 0, 1), (4,), {"padding": "VALID", "stride_h": 1, "stride_w": 2, "activation": "RELU"}),
        Node("FULLY_CONNECTED", (4, 2, -1), (5,), {"keep_dims": False}),
    )
    return Metadata(
        model=ModelInfo("tiny-sample", version),
        target=Target("cortex-m4", min_ram=4096, min_flash=16384),
        compressor=Compressor("dcagent", "0.1.0", {"quantize_bits": 8, "prune_sparsity": 0.25, "coder": "raw"}),
        graph=Graph((3,), (5,), nodes, values),
        tensors=tensors,
    )


def sample_payloads() -> list[TensorPayload]:
    """The raw payloads of SAMPLE_LEVELS in sample_metadata's types."""
    return [TensorPayload.raw(SAMPLE_LEVELS[0], LevelDtype.INT8), TensorPayload.raw(SAMPLE_LEVELS[1], LevelDtype.INT32),
            TensorPayload.raw(SAMPLE_LEVELS[2], LevelDtype.INT16)]


def sample_container() -> bytes:
    """An unsigned, untagged, non-delta container of the sample model."""
    return build_container(sample_metadata(), sample_payloads())


def rehash(data: bytes | bytearray) -> bytes:
    """`data` with content_sha256 recomputed from its header's trailer_offset (for negative vectors)."""
    out = bytearray(data)
    trailer = int.from_bytes(out[40:44], "little")
    out[trailer:trailer + 32] = hashlib.sha256(bytes(out[:trailer])).digest()
    return bytes(out)


def set_header(data: bytes, field: str, value) -> bytes:
    """`data` with one header field replaced (no rehash: header checks come before the hash)."""
    values = list(layout.HEADER_STRUCT.unpack_from(data))
    values[layout.HEADER_FIELDS.index(field)] = value
    return layout.HEADER_STRUCT.pack(*values) + data[layout.HEADER_LENGTH:]


def set_entry(data: bytes, index: int, field: str, value) -> bytes:
    """`data` with one field of directory entry `index` replaced, then rehashed."""
    at = layout.HEADER_LENGTH + layout.ENTRY_LENGTH * index
    values = list(layout.ENTRY_STRUCT.unpack_from(data, at))
    values[layout.ENTRY_FIELDS.index(field)] = value
    return rehash(data[:at] + layout.ENTRY_STRUCT.pack(*values) + data[at + layout.ENTRY_LENGTH:])


def set_trailer(data: bytes, field: str, value) -> bytes:
    """`data` with one trailer field replaced (no rehash: the trailer is not hashed)."""
    at = int.from_bytes(data[40:44], "little")
    values = list(layout.TRAILER_STRUCT.unpack_from(data, at))
    values[layout.TRAILER_FIELDS.index(field)] = value
    return data[:at] + layout.TRAILER_STRUCT.pack(*values)
