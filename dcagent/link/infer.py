"""Run inferences on the device's running model and read back what it runs (model group 96).

docs/protocol.md "Model group": inputs larger than one SMP frame go in pieces (`off`, `len`);
`model info` says how the firmware's runtime holds the model (arena, decode mode, why it
cannot run it); `model read` returns the stored container, so the host can run the very same
model through its reference interpreter (dcagent/cli/infer.py compares the two).

On the QEMU boards the exact instructions of each inference are in the instruction-count
plugin's log, between the firmware's marks into INFER_REGION and back to region 0
(firmware/app/runtime_adapter.h); `inference_instructions` extracts them.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import numpy as np

from dcagent.errors import DeviceError
from dcagent.link.model_group import Infer, ModelInfo, ModelRead
from dcagent.link.session import SmpSession

#: Model-group rc (= -dc_status_t) of the statuses explained below.
RC_UNSUPPORTED, RC_ARENA, RC_SHAPE, RC_NO_MODEL = 3, 70, 72, 103
#: firmware/app/runtime_adapter.h DC_APP_INFER_REGION: the profiling region of dc_model_invoke.
INFER_REGION = 2


@dataclass(frozen=True)
class InferResult:
    """One inference's raw output bytes (every graph output, concatenated) and the device's
    counters: `instructions` 0 (the firmware cannot count them), `cycles` the port's cycle
    counter over the run (QEMU boards: virtual CPU cycles; 0 where unknown, e.g. native)."""

    output: bytes
    instructions: int
    cycles: int


@dataclass(frozen=True)
class DeviceModel:
    """The running model as the device reports it (`model info`)."""

    slot: int
    version: str
    sha256: bytes
    size: int
    trial: bool
    input_bytes: int | None
    output_bytes: int | None
    arena_bytes: int | None      # what the model needs (in the decode mode used)
    arena_capacity: int | None   # what the device has
    decode: str | None           # "at_load" | "per_layer" | "streamed"
    load_status: int             # 0, or the rc (-dc_status_t) of why the runtime cannot run it


async def model_info(session: SmpSession) -> DeviceModel:
    """The running model. Raises DeviceError (rc 103: no model), LINK_ERRORS."""
    try:
        r = await session.request(ModelInfo(), "model info")
    except DeviceError as exc:
        raise _explain(exc, None, 0) from exc
    return DeviceModel(int(r.slot), str(r.model_version), bytes(r.hash), int(r.size), bool(r.trial),
                       r.in_bytes, r.out_bytes, r.arena_bytes, r.arena_capacity, r.decode, int(r.load_rc or 0))


async def read_model(session: SmpSession) -> bytes:
    """The running model's container bytes as stored, checked against its SHA-256.

    Raises DeviceError (no model, or the bytes read do not hash to the model's identity),
    LINK_ERRORS."""
    info = await model_info(session)
    data = bytearray()
    while len(data) < info.size:
        r = await session.request(ModelRead(off=len(data)), "reading the model back")
        if int(r.off) != len(data) or int(r.len) != info.size or not r.data:
            raise DeviceError(f"model read answered off={r.off} len={r.len} ({len(r.data)} bytes) "
                              f"at offset {len(data)} of {info.size}")
        data += bytes(r.data)
    if hashlib.sha256(data).digest() != info.sha256:
        raise DeviceError("the model read back does not match the running model's SHA-256")
    return bytes(data)


def _explain(exc: DeviceError, info: DeviceModel | None, input_len: int) -> DeviceError:
    """A clearer DeviceError for the runtime's refusals."""
    if exc.code == RC_ARENA and info is not None:
        return DeviceError(f"the model needs {info.arena_bytes} bytes of arena, the device has {info.arena_capacity} "
                           "(DC_ERR_ARENA: refused before running)", code=exc.code,
                           hint="compress the model further, or build the firmware with a larger ARENA_SIZE")
    if exc.code == RC_SHAPE:
        expected = f"{info.input_bytes}" if info is not None and info.input_bytes else "another size"
        return DeviceError(f"the input is {input_len} bytes, the model takes {expected} (DC_ERR_SHAPE)",
                           code=exc.code)
    if exc.code == RC_NO_MODEL:
        return DeviceError("the device runs no model (DC_ERR_NO_MODEL)", code=exc.code,
                           hint="deliver one first: dcagent flash MODEL.dcb ...")
    return exc


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
        info = None
        if exc.code in (RC_ARENA, RC_SHAPE):
            try:
                info = await model_info(session)
            except DeviceError:
                pass
        raise _explain(exc, info, len(data)) from exc
    if response is None or response.output is None:
        raise DeviceError(f"inference answered without an output: {response!r}")
    return InferResult(bytes(response.output), int(response.insn or 0), int(response.cycles or 0))


async def infer_all(session: SmpSession, inputs: np.ndarray) -> list[InferResult]:
    """infer_one for each sample of `inputs` (first axis = samples)."""
    return [await infer_one(session, np.ascontiguousarray(x).tobytes()) for x in inputs]


def infer(port: str, inputs: np.ndarray, *, timeout_s: float = 10.0) -> list[InferResult]:
    """Run each sample of `inputs` (first axis = samples; int8/uint8 bytes as stored) on the
    device at `port`. Raises DeviceError (no model, shape, arena), TransportError."""
    async def go() -> list[InferResult]:
        async with SmpSession(port, timeout_s=timeout_s) as session:
            return await infer_all(session, inputs)
    return asyncio.run(go())


def running_model(port: str, *, timeout_s: float = 5.0) -> tuple[DeviceModel, bytes]:
    """(model info, container bytes) of the model the device at `port` runs.
    Raises DeviceError, TransportError."""
    async def go() -> tuple[DeviceModel, bytes]:
        async with SmpSession(port, timeout_s=timeout_s) as session:
            return await model_info(session), await read_model(session)
    return asyncio.run(go())


def inference_instructions(marks) -> list[int]:
    """Exact instructions of each dc_model_invoke in a QEMU instruction-count log's marks
    (dcagent.boards.insncount.Mark: region, previous, insns, total), in order: from each switch
    into INFER_REGION out of region 0 to the next switch back to region 0."""
    spans, start = [], None
    for mark in marks:
        if mark.region == INFER_REGION and mark.previous == 0:
            start = mark.total
        elif mark.region == 0 and start is not None:
            spans.append(mark.total - start)
            start = None
    return spans
