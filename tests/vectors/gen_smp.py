"""Seed frames for the SMP server fuzz target (tests/fuzz/fuzz_smp_frames.c): requests of every
command the server implements, framed with smp's own serial encoder, plus text and a
malformed frame. Each file is the exact byte stream a client would put on the UART."""
from __future__ import annotations

from pathlib import Path

SPEC = "docs/protocol.md (SMP)"


def _requests():
    from smp import header as smphdr
    from smp import message as smpmsg
    from smp.image_management import (ImageEraseRequest, ImageStatesReadRequest, ImageStatesWriteRequest,
                                      ImageUploadWriteRequest)
    from smp.os_management import EchoWriteRequest, MCUMgrParametersReadRequest, ResetWriteRequest

    class ModelInfo(smpmsg.ReadRequest):
        _GROUP_ID = 96
        _COMMAND_ID = 0

    class Infer(smpmsg.WriteRequest):
        _GROUP_ID = 96
        _COMMAND_ID = 1
        input: bytes
        off: int | None = None
        len: int | None = None

    class Stats(smpmsg.ReadRequest):
        _GROUP_ID = 96
        _COMMAND_ID = 2

    image = b"OK\x06 a new model for the fuzzer"
    return {
        "echo": EchoWriteRequest(d="hello", sequence=1),
        "params": MCUMgrParametersReadRequest(sequence=2),
        "state_read": ImageStatesReadRequest(sequence=3),
        "upload_first": ImageUploadWriteRequest(off=0, data=image[:16], len=len(image), image=1, sequence=4),
        "upload_next": ImageUploadWriteRequest(off=16, data=image[16:], sequence=5),
        "state_test": ImageStatesWriteRequest(hash=image[:32].ljust(32, b"\0"), sequence=6),
        "state_confirm": ImageStatesWriteRequest(confirm=True, sequence=7),
        "erase": ImageEraseRequest(slot=1, sequence=8),
        "reset": ResetWriteRequest(sequence=9),
        "model_info": ModelInfo(sequence=10),
        "infer": Infer(input=bytes(range(10)), sequence=11),
        "infer_piece": Infer(input=bytes(8), off=0, len=20, sequence=12),
        "stats": Stats(sequence=13),
        "echo_v1": EchoWriteRequest(d="v1", version=smphdr.Version.V1, sequence=14),
    }


def generate(outdir: Path) -> list[str]:
    from smp import packet as smppacket

    written = []
    requests = _requests()
    for name, request in requests.items():
        (outdir / f"{name}.bin").write_bytes(b"".join(smppacket.encode(request.BYTES)))
        written.append(f"{name}.bin")
    session = b"name%\r\n" + b"".join(
        b"".join(smppacket.encode(requests[k].BYTES, line_length=40))
        for k in ("upload_first", "upload_next", "state_read", "state_test", "reset", "state_confirm"))
    (outdir / "session.bin").write_bytes(session)
    written.append("session.bin")
    bad = bytearray(b"".join(smppacket.encode(requests["echo"].BYTES)))
    bad[5] ^= 0x01
    (outdir / "bad_crc.bin").write_bytes(bytes(bad))
    written.append("bad_crc.bin")
    return written
