"""The self-test check of a fleet update: a fixed input and the SHA-256 of the model's outputs for it.

A manifest may carry `check_sha256` (docs/protocol.md, MQTT section 5.1): the SHA-256 of every
graph output (int8 bytes, concatenated in graph order) when the model runs once on the check
input. The check input of an n-byte input tensor is n bytes whose 32-byte block k is
SHA-256(b"dcagent-check-v1" || k as 4 bytes little-endian), the last block truncated; the
firmware builds the same bytes with `dc_fleet_check_input` (dc_fleet.h). A board that boots a
new model on trial runs it on that input and confirms only when the model loads, runs and
(with `check_sha256`) produces exactly these outputs; otherwise it rolls back.
"""
from __future__ import annotations

import hashlib

CHECK_CONTEXT = b"dcagent-check-v1"


def check_input(nbytes: int) -> bytes:
    """The check input of an `nbytes`-byte input tensor. Raises ValueError for a negative size."""
    if nbytes < 0:
        raise ValueError(f"input size {nbytes} is negative")
    blocks = (nbytes + 31) // 32
    return b"".join(hashlib.sha256(CHECK_CONTEXT + k.to_bytes(4, "little")).digest() for k in range(blocks))[:nbytes]


def check_digest(container: bytes) -> bytes | None:
    """SHA-256 of the model's outputs for the check input, computed by the firmware's C runtime
    built into the host extension (host.runtime); None when the host cannot run the model (no
    extension, a delta, a graph the runtime refuses, more than one input). Never raises."""
    try:
        import numpy as np  # noqa: PLC0415 - the agent may run without the extension
        from host.runtime import Runtime  # noqa: PLC0415
        runtime = Runtime(container)
        if len(runtime.inputs) != 1:
            return None
        spec = runtime.inputs[0]
        size = int(np.prod(spec.shape, dtype=np.int64))
        x = np.frombuffer(check_input(size), dtype=np.int8).reshape(spec.shape)
        outputs = runtime.run([x])
    except Exception:  # noqa: BLE001 - no reference: the manifest carries no check
        return None
    return hashlib.sha256(b"".join(np.ascontiguousarray(o).tobytes() for o in outputs)).digest()
