"""The device link on the native board (a real process on a real pty): smpclient uploads,
tests, confirms and reverts .dcb models; rollback is reported; bad input over the wire gets
its SMP error code and leaves the running model untouched; the CLI commands."""
import asyncio
import hashlib

import pytest
from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR
from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite, ImageUploadWrite
from smpclient.requests.os_management import EchoWrite, ResetWrite

from dcagent.cli import main
from dcagent.link import RolledBackError, SmpSession, console_command, flash, read_state
from dcagent.link.model_group import Stats
from host.container.layout import TRAILER_LENGTH
from tests.link_boards import (CAPACITY, SECTOR, board_running, exchange, frame_lines, raw_message, slot_offset,
                               slots_text)
from tests.link_models import DEVICE_KEY, OTHER_KEY, model, tagged, version_code

V1, V2, V3 = version_code(1), version_code(2), version_code(3)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def active(port: str):
    states = read_state(port)
    running = [st for st in states if st.active]
    assert len(running) == 1, states
    return running[0]


def test_update_confirm_revert_and_persist(tmp_path):
    m1, m2 = tagged(V1, 6000, seed=1), tagged(V2, 9000, seed=2)
    with board_running("native", tmp_path) as board:
        assert read_state(board.port) == []
        report = flash(board.port, m1, confirm=True)
        assert report.uploaded and report.confirmed and not report.resumed_at and report.version == "1.0.0"
        st = active(board.port)
        assert st.hash == sha(m1) and st.confirmed and st.slot == 0

        report = flash(board.port, m2)  # tested, running on trial, not confirmed
        assert report.running and report.trial and not report.confirmed
        st = active(board.port)
        assert st.hash == sha(m2) and not st.confirmed

        async def reset():
            async with SmpSession(board.port) as s:
                await s.request(ResetWrite(), "reset")
        asyncio.run(reset())
        deadline = 50
        while deadline:  # the device comes back running the confirmed model: reverted
            try:
                st = active(board.port)
                break
            except Exception:  # noqa: BLE001 - still resetting
                deadline -= 1
        assert st.hash == sha(m1) and st.confirmed

        report = flash(board.port, m2, confirm=True)
        assert not report.uploaded  # slot 1 still held the verified image: tested again, no upload
        assert active(board.port).hash == sha(m2)
    with board_running("native", tmp_path) as board:  # power off and on: the flash file persists
        st = active(board.port)
        assert st.hash == sha(m2) and st.confirmed and st.version == "2.0.0"
        lines = slots_text(board.port)
        assert any("version=2.0.0" in line and "active=1 confirmed=1" in line for line in lines), lines


def test_rollback_is_reported(tmp_path):
    m1, m2 = tagged(V1, 5000, seed=1), tagged(V2, 5000, seed=2)
    with board_running("native", tmp_path) as board:
        flash(board.port, m1, confirm=True)
        running = next(int(line.split("slot=")[1].split()[0]) for line in slots_text(board.port)
                       if "active=1" in line)
        inactive = 1 - running

        async def upload_only():
            async with SmpSession(board.port) as s:
                async for _ in s.client.upload(m2, slot=1):
                    pass
        asyncio.run(upload_only())
        # damage the verified image behind the device's back (bring-up console erase)
        assert console_command(board.port, f"flash erase {slot_offset(inactive)} {SECTOR}") == "ok"
        with pytest.raises(RolledBackError) as info:
            flash(board.port, m2, confirm=True)  # already in slot 1: test, reset, boot re-verifies
        assert not info.value.report.uploaded and "1.0.0" in str(info.value)
        st = active(board.port)
        assert st.hash == sha(m1) and st.confirmed


async def upload_raw(s: SmpSession, image: bytes, announced_sha: bytes | None = None, image_slot: int = 1):
    """Upload in 512-byte chunks with our own requests; return the last response."""
    off = 0
    response = None
    while off < len(image):
        chunk = image[off:off + 512]
        if off == 0:
            req = ImageUploadWrite(off=0, data=chunk, len=len(image), image=image_slot,
                                   sha=announced_sha if announced_sha is not None else sha(image))
        else:
            req = ImageUploadWrite(off=off, data=chunk)
        response = await s.client.request(req)
        if getattr(response, "off", None) is None:
            return response
        off = response.off
    return response


def rc_of(response) -> int:
    return int(response.err.rc) if hasattr(response, "err") else int(response.rc)


def test_bad_input_gets_smp_errors_and_leaves_the_model_alone(tmp_path):
    good = tagged(V2, 4000, seed=1)
    with board_running("native", tmp_path) as board:
        flash(board.port, good, confirm=True)

        corrupt = bytearray(tagged(V3, 4000, seed=3))
        corrupt[200] ^= 0x01  # the content hash no longer matches

        async def go():
            async with SmpSession(board.port) as s:
                results = {}
                big = await s.client.request(ImageUploadWrite(off=0, data=b"x" * 16, len=CAPACITY + 1, sha=bytes(32)))
                results["oversize"] = rc_of(big)
                results["wrong_sha"] = rc_of(await upload_raw(s, tagged(V3, 3000, seed=4), announced_sha=sha(b"other")))
                results["bad_hmac"] = rc_of(await upload_raw(s, tagged(V3, 3000, seed=5, key=OTHER_KEY)))
                results["no_tag"] = rc_of(await upload_raw(s, model(V3, 3000, seed=6)))
                results["corrupt"] = rc_of(await upload_raw(s, bytes(corrupt)))
                results["not_a_container"] = rc_of(await upload_raw(s, b"\x00" * 3000))
                results["downgrade"] = rc_of(await upload_raw(s, tagged(V1, 3000, seed=7)))
                results["running_slot"] = rc_of(await upload_raw(s, tagged(V3, 3000, seed=8), image_slot=0))
                results["test_unknown_hash"] = rc_of(await s.client.request(ImageStatesWrite(hash=sha(b"nothing"))))
                # malformed frames: bad CRC, bad base64, truncated; the device drops them silently
                message = raw_message(2, 0, 0, {"d": "lost"})
                line = bytearray(frame_lines(message)[0])
                line[10] = ord("A") if line[10] != ord("A") else ord("B")
                transport = s._transport  # noqa: SLF001
                transport._conn.write(bytes(line) + b"\x06\x09!!!!\n" + frame_lines(message)[0][:20] + b"\n")  # noqa: SLF001
                echo = await s.request(EchoWrite(d="still here"), "echo")
                results["echo_after_garbage"] = echo.r
                stats = await s.request(Stats(), "stats")
                results["dropped"] = stats.dropped
                header, body = await exchange(s, raw_message(2, 77, 0, {}))
                results["unknown_group"] = body
                header, body = await exchange(s, raw_message(0, 1, 9, {}))
                results["unknown_command"] = body
                header, body = await exchange(s, raw_message(2, 0, 0, b"\xff\x00"))  # malformed CBOR
                results["bad_cbor"] = body
                results["state"] = (await s.request(ImageStatesRead(), "state")).images
                return results
        r = asyncio.run(go())
    assert r["oversize"] == IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE
    assert r["wrong_sha"] == IMG_MGMT_ERR.INVALID_HASH
    assert r["bad_hmac"] == IMG_MGMT_ERR.INVALID_TLV and r["no_tag"] == IMG_MGMT_ERR.INVALID_TLV
    assert r["corrupt"] == IMG_MGMT_ERR.INVALID_HASH
    assert r["not_a_container"] == IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC
    assert r["downgrade"] == IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER
    assert r["running_slot"] == IMG_MGMT_ERR.NO_FREE_SLOT
    assert r["test_unknown_hash"] == IMG_MGMT_ERR.HASH_NOT_FOUND
    assert r["echo_after_garbage"] == "still here" and r["dropped"] >= 2
    assert r["unknown_group"] == {"rc": MGMT_ERR.ENOTSUP}
    assert r["unknown_command"] == {"rc": MGMT_ERR.ENOTSUP}
    assert r["bad_cbor"] == {"rc": MGMT_ERR.EINVAL}
    images = r["state"]
    running = [img for img in images if img.active]
    assert len(running) == 1 and running[0].hash == sha(good) and running[0].confirmed
    assert not any(img.pending for img in images)  # nothing bad was ever marked for test
    assert all(img.hash == sha(good) for img in images if img.bootable)


def test_cli_provision_flash_state_infer(tmp_path, capsys):
    path = tmp_path / "m.dcb"
    path.write_bytes(model(V1, 5000))
    state = str(tmp_path / "state")
    key = DEVICE_KEY.hex()
    assert main(["provision", "--board", "native", "--state", state, "--device-key", key]) == 0
    assert main(["flash", str(path), "--board", "native", "--state", state, "--device-key", key, "--confirm"]) == 0
    assert "running, confirmed" in capsys.readouterr().out
    assert main(["state", "--board", "native", "--state", state]) == 0
    assert "1.0.0" in capsys.readouterr().out
    assert main(["flash", str(path), "--board", "native", "--state", state, "--device-key", OTHER_KEY.hex()]) == 4
    assert "INVALID_TLV" in capsys.readouterr().err
    import numpy as np
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1, 500), np.int8))
    assert main(["infer", "--board", "native", "--state", state, "--data", str(tmp_path / "d.npz")]) == 0
    assert "2 inferences: every output equals the host reference" in capsys.readouterr().out
    bad = tmp_path / "bad.dcb"
    bad.write_bytes(model(V1, 5000)[:-TRAILER_LENGTH])
    assert main(["flash", str(bad), "--port", "/dev/null"]) == 3
