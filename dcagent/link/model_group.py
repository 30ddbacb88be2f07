"""dcagent's own SMP group (96: model info, inference, statistics, model read) as smp request classes.

docs/protocol.md, "Model group (96)". Declared the way the `smp` package declares its own
groups, so `SMPClient.request()` validates responses and errors like any other command.
"""
from __future__ import annotations

from typing import ClassVar

from smp import error as smperror
from smp import message as smpmsg

#: The group number (user range >= 64; docs/protocol.md).
GROUP_MODEL = 96


class ModelErrorV2(smperror.ErrorV2[int]):
    """`{"err": {"group": 96, "rc": -dc_status_t}}`."""

    _GROUP_ID = GROUP_MODEL


class ModelErrorV1(smperror.ErrorV1):
    """`{"rc": MGMT_ERR}` (SMP v1 has no group errors)."""

    _GROUP_ID = GROUP_MODEL


class ModelInfoResponse(smpmsg.ReadResponse):
    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 0
    slot: int
    model_version: str
    model_version_code: int
    hash: bytes
    size: int
    trial: bool
    in_bytes: int | None = None
    out_bytes: int | None = None
    arena_bytes: int | None = None
    arena_capacity: int | None = None
    decode: str | None = None
    load_rc: int | None = None


class ModelInfo(smpmsg.ReadRequest):
    """The running model: slot, version, hash, size, trial (+ sizes with a runtime)."""

    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 0
    _Response: ClassVar = ModelInfoResponse
    _ErrorV1: ClassVar = ModelErrorV1
    _ErrorV2: ClassVar = ModelErrorV2


class InferResponse(smpmsg.WriteResponse):
    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 1
    output: bytes | None = None
    insn: int | None = None
    cycles: int | None = None
    off: int | None = None


class Infer(smpmsg.WriteRequest):
    """One inference: `input` whole, or in pieces with `off` and `len` (total)."""

    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 1
    _Response: ClassVar = InferResponse
    _ErrorV1: ClassVar = ModelErrorV1
    _ErrorV2: ClassVar = ModelErrorV2
    input: bytes
    off: int | None = None
    len: int | None = None


class StatsResponse(smpmsg.ReadResponse):
    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 2
    frames: int
    dropped: int
    requests: int
    errors: int
    uploads: int
    inferences: int
    insn_total: int
    cycles_total: int
    insn_last: int
    cycles_last: int
    running: int


class Stats(smpmsg.ReadRequest):
    """Counters since the last reset: frames, dropped frames, requests, errors, uploads, ..."""

    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 2
    _Response: ClassVar = StatsResponse
    _ErrorV1: ClassVar = ModelErrorV1
    _ErrorV2: ClassVar = ModelErrorV2


class ModelReadResponse(smpmsg.ReadResponse):
    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 3
    off: int
    len: int
    data: bytes


class ModelRead(smpmsg.ReadRequest):
    """The running model's stored bytes from `off` (as many as fit one response)."""

    _GROUP_ID = GROUP_MODEL
    _COMMAND_ID = 3
    _Response: ClassVar = ModelReadResponse
    _ErrorV1: ClassVar = ModelErrorV1
    _ErrorV2: ClassVar = ModelErrorV2
    off: int
