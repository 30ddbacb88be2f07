"""Run inferences on the device's running model through the model group (96).

Inputs larger than one SMP frame go in pieces (`off`, `len`); docs/protocol.md "Model group".
Until the firmware links a runtime, the device answers DC_ERR_UNSUPPORTED and infer()
raises DeviceError saying so. Comparing the device's outputs with the host reference
interpreter is done by the caller (TO COMPLETE with the runtime: see dcagent/cli/infer.py).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from dcagent.errors import DeviceError
from dcagent.link.model_group import Infer
from dcagent.link.session import SmpSession

#: Model-group rc of DC_ERR_UNSUPPORTED (-3): the firmware has no runtime.
NO_RUNTIME_RC = 3


@dataclass(frozen=True)
class InferResult:
    """One inference's raw output bytes and the device's counters (0 when unknown)."""

    output: bytes
    instructions: int
    cycles: int


async def infer_one(session: SmpSession, data: bytes) -> InferResult:
    """One inference of `data` (the input tensor's bytes). Raises DeviceError, LINK_ERRORS."""
    assert session.buf_size is not None
    piece = max(64, session.buf_size - 64)  # header, CBOR keys and integers fit in 64 bytes
    try:
        if len(data) <= piece:
            response = await session.request(Infer(input=data), "inference")
        else:
            response = None
            for off in range(0, len(data), piece):
                response = await session.request(Infer(input=data[off:off + piece], off=off, len=len(data)),
                                                 "inference")
    except DeviceError as exc:
        if exc.code == NO_RUNTIME_RC or exc.code == 8:
            raise DeviceError("the firmware has no model runtime yet (DC_ERR_UNSUPPORTED)", code=exc.code,
                              hint="build firmware with the runtime linked into firmware/app/runtime_adapter.c") from exc
        raise
    if response is None or response.output is None:
        raise DeviceError(f"inference answered without an output: {response!r}")
    return InferResult(bytes(response.output), int(response.insn or 0), int(response.cycles or 0))


def infer(port: str, inputs: np.ndarray, *, timeout_s: float = 10.0) -> list[InferResult]:
    """Run each sample of `inputs` (first axis = samples; int8/uint8 bytes as stored) on the
    device at `port`. Raises DeviceError (no runtime, no model, shape), TransportError."""
    async def go() -> list[InferResult]:
        async with SmpSession(port, timeout_s=timeout_s) as session:
            return [await infer_one(session, np.ascontiguousarray(x).tobytes()) for x in inputs]
    return asyncio.run(go())
