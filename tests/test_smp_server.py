"""The device's SMP server, driven in-process (host._smp) with smpclient's own request classes,
its upload routine and smp's serial framing encoder/decoder: upload (chunked, resumed), state
read/test/confirm, revert, erase, echo, parameters, reset, the model group, and bad input."""
import asyncio
import hashlib

import pytest
from smp import error as smperror
from smp import header as smphdr
from smp import image_management as smpimg
from smp import message as smpmsg
from smp import packet as smppacket
from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR
from smpclient import SMPClient
from smpclient.exceptions import SMPUploadError
from smpclient.generics import error, error_v1, error_v2, success
from smpclient.requests.image_management import ImageErase, ImageStatesRead, ImageStatesWrite, ImageUploadWrite
from smpclient.requests.os_management import EchoWrite, MCUMgrParametersRead, ResetWrite

from tests.smp_device import (Infer, ModelInfo, Stats, client_for, make_image, new_device)

V1, V2, V3 = 0x00010000, 0x00020000, 0x00030000
SLOT_SIZE = 65536
CAPACITY = SLOT_SIZE - 1024


def run(coro):
    return asyncio.run(coro)


async def connected(device) -> SMPClient:
    client, _ = client_for(device)
    await client.connect()
    return client


async def upload(client: SMPClient, image: bytes, slot: int = 1, **kw) -> list[int]:
    return [off async for off in client.upload(image, slot=slot, **kw)]


def sha(image: bytes) -> bytes:
    return hashlib.sha256(image).digest()


async def install(client: SMPClient, device, image: bytes) -> None:
    """Upload to slot 1, test, reset, confirm: the normal update, asserting each step."""
    await upload(client, image)
    assert success(await client.request(ImageStatesWrite(hash=sha(image))))
    assert success(await client.request(ResetWrite()))
    assert device.trial
    assert success(await client.request(ImageStatesWrite(confirm=True)))
    assert not device.trial


def by_slot(response) -> dict:
    return {img.slot: img for img in response.images}


# ---- OS group --------------------------------------------------------------------------

def test_params_and_echo():
    async def go():
        device = new_device()
        client = await connected(device)  # connect() reads the MCUmgr parameters
        params = await client.request(MCUMgrParametersRead())
        assert success(params) and params.buf_size == _buf_size() and params.buf_count == 1
        for text in ["hello", "", "ünïcödé ✓", "x" * 500]:
            echo = await client.request(EchoWrite(d=text))
            assert success(echo) and echo.r == text
        too_long = "y" * 2000  # bigger than the device's frame buffer: smpclient refuses to send it
        with pytest.raises(ValueError):
            await client.request(EchoWrite(d=too_long))
    run(go())


def _buf_size():
    from host import _smp
    return _smp.BUF_SIZE


def test_reset_reboots_the_device():
    async def go():
        device = new_device()
        client = await connected(device)
        assert success(await client.request(ResetWrite()))
        assert device.resets == 1
    run(go())


# ---- image group: the update life cycle --------------------------------------------------

def test_upload_test_confirm_and_state():
    async def go():
        device = new_device()
        assert device.running == -1  # a new device has no model
        client = await connected(device)
        state = await client.request(ImageStatesRead())
        assert success(state) and state.images == []
        image = make_image(V1, 5000)
        offsets = await upload(client, image)
        assert offsets[-1] == len(image) and offsets == sorted(offsets) and len(offsets) > 3
        state = by_slot(await client.request(ImageStatesRead()))
        assert set(state) == {1}
        assert state[1].hash == sha(image) and state[1].version == "0.1.0"
        assert state[1].bootable and not state[1].pending and not state[1].active
        tested = by_slot(await client.request(ImageStatesWrite(hash=sha(image))))
        assert tested[1].pending and not tested[1].confirmed
        assert success(await client.request(ResetWrite()))
        assert device.running >= 0 and device.trial
        state = by_slot(await client.request(ImageStatesRead()))
        assert state[0].active and not state[0].confirmed and state[0].hash == sha(image)
        confirmed = by_slot(await client.request(ImageStatesWrite(confirm=True)))
        assert confirmed[0].active and confirmed[0].confirmed
        assert device.reboot() == device.running and not device.trial
        assert device.read_slot(device.running)[: len(image)] == image
    run(go())


def test_revert_after_reboot_without_confirm():
    async def go():
        device = new_device()
        client = await connected(device)
        old, new = make_image(V1, 3000, seed=1), make_image(V2, 4000, seed=2)
        await install(client, device, old)
        old_slot = device.running
        await upload(client, new)
        assert success(await client.request(ImageStatesWrite(hash=sha(new))))
        assert success(await client.request(ResetWrite()))
        assert device.trial and device.running != old_slot
        device.reboot()  # the trial model never confirmed itself
        assert device.running == old_slot and not device.trial
        state = by_slot(await client.request(ImageStatesRead()))
        assert state[0].hash == sha(old) and state[0].active and state[0].confirmed
        assert state[1].hash == sha(new) and not state[1].pending and not state[1].confirmed
        # the reverted image can be tested again, and then confirmed
        assert by_slot(await client.request(ImageStatesWrite(hash=sha(new))))[1].pending
        device.reboot()
        assert device.trial and device.read_slot(device.running)[: len(new)] == new
        assert success(await client.request(ImageStatesWrite(confirm=True)))
        assert device.reboot() != old_slot
    run(go())


def test_confirm_by_hash_makes_the_update_permanent():
    async def go():
        device = new_device()
        client = await connected(device)
        await install(client, device, make_image(V1, 3000))
        new = make_image(V2, 3500, seed=5)
        await upload(client, new)
        state = by_slot(await client.request(ImageStatesWrite(hash=sha(new), confirm=True)))
        assert state[1].pending and state[1].permanent and state[1].confirmed
        device.reboot()
        assert not device.trial and device.read_slot(device.running)[: len(new)] == new
    run(go())


def test_upload_resumes_after_a_lost_response_and_after_a_reset():
    async def go():
        device = new_device()
        client, transport = client_for(device)
        await client.connect()
        image = make_image(V1, 20000)
        got = []
        async for off in client.upload(image, slot=1):
            got.append(off)
            if len(got) == 5:
                break  # the link goes down mid-upload
        progress = got[-1]
        assert 0 < progress < len(image)
        # a response is lost: smpclient times out; the device has the chunk anyway
        transport.drop_responses = 1
        with pytest.raises(TimeoutError):
            await client.request(ImageUploadWrite(off=progress, data=image[progress:progress + 500]))
        # a new upload of the same image (same sha) resumes where the device is
        again = await upload(client, image)
        assert again[0] == progress + 500 and again[-1] == len(image)
        # and after a reset in the middle of another upload, it resumes from a sector boundary
        await install_after(client, device, image)
        second = make_image(V2, 20000, seed=9)
        got = []
        async for off in client.upload(second, slot=1):
            got.append(off)
            if off > 9000:
                break
        device.reboot()
        resumed = await upload(client, second)
        assert 0 < resumed[0] <= got[-1] and resumed[0] % 1024 == 0 and resumed[-1] == len(second)
        assert by_slot(await client.request(ImageStatesRead()))[1].hash == sha(second)
    run(go())


async def install_after(client, device, image):
    assert success(await client.request(ImageStatesWrite(hash=sha(image))))
    device.reboot()
    assert success(await client.request(ImageStatesWrite(confirm=True)))


def test_power_cut_during_upload_keeps_the_running_model():
    async def go():
        device = new_device()
        client = await connected(device)
        old = make_image(V1, 3000)
        await install(client, device, old)
        running = device.running
        new = make_image(V2, 12000, seed=3)
        device.cut_power_after(9, random=True, seed=42)
        with pytest.raises(SMPUploadError) as failed:
            await upload(client, new)
        assert failed.value.args[0].err.rc == IMG_MGMT_ERR.FLASH_WRITE_FAILED
        device.power_on()
        assert device.reboot() == running
        assert device.read_slot(running)[: len(old)] == old
        await install(client, device, new)
        assert device.read_slot(device.running)[: len(new)] == new
    run(go())


def test_erase_inactive_slot():
    async def go():
        device = new_device()
        client = await connected(device)
        await install(client, device, make_image(V1, 3000))
        await upload(client, make_image(V2, 3000, seed=4))
        assert set(by_slot(await client.request(ImageStatesRead()))) == {0, 1}
        erased = await client.request(ImageErase())
        assert success(erased)
        assert set(by_slot(await client.request(ImageStatesRead()))) == {0}
        refused = await client.request(ImageErase(slot=0))  # the running model
        assert error_v2(refused) and refused.err.rc == IMG_MGMT_ERR.NO_FREE_SLOT
    run(go())


# ---- bad input: the standard error a client understands, the running model untouched -----

def test_bad_uploads_are_refused_and_the_running_model_stays():
    async def go():
        device = new_device()
        client = await connected(device)
        good = make_image(V2, 3000)
        await install(client, device, good)
        running, before = device.running, device.read_slot(device.running)

        async def refused(image, expect, **kw):
            with pytest.raises(SMPUploadError) as failed:
                await upload(client, image, **kw)
            response = failed.value.args[0]
            assert error_v2(response), response
            assert response.err.group == smphdr.GroupId.IMAGE_MANAGEMENT and response.err.rc == expect

        await refused(make_image(V3, CAPACITY + 1), IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE)
        await refused(make_image(V1, 3000, seed=7), IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER)  # downgrade
        await refused(make_image(V2, 3000, seed=8), IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER, upgrade=True)
        tampered = bytearray(make_image(V3, 3000))
        tampered[100] ^= 1
        await refused(bytes(tampered), IMG_MGMT_ERR.INVALID_TLV)  # HMAC fails
        await refused(b"NOPE" + bytes(300), IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC)
        await refused(make_image(V3, 3000), IMG_MGMT_ERR.NO_FREE_SLOT, slot=0)  # the running slot
        # a wrong announced SHA-256: all bytes go in, the final check fails
        image = make_image(V3, 1500)
        first = await client.request(ImageUploadWrite(off=0, data=image[:700], len=len(image), sha=bytes(32), image=1))
        assert success(first) and first.off == 700
        last = await client.request(ImageUploadWrite(off=700, data=image[700:]))
        assert error_v2(last) and last.err.rc == IMG_MGMT_ERR.INVALID_HASH
        # testing an unknown hash, the running image, or an over-long data chunk
        unknown = await client.request(ImageStatesWrite(hash=bytes(32)))
        assert error_v2(unknown) and unknown.err.rc == IMG_MGMT_ERR.HASH_NOT_FOUND
        active = await client.request(ImageStatesWrite(hash=sha(good)))
        assert error_v2(active) and active.err.rc == IMG_MGMT_ERR.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED
        start = await client.request(ImageUploadWrite(off=0, data=b"", len=10, image=1))
        assert success(start) and start.off == 0
        over = await client.request(ImageUploadWrite(off=0, data=bytes(11), len=10, image=1))
        assert error_v2(over) and over.err.rc == IMG_MGMT_ERR.INVALID_IMAGE_DATA_OVERRUN
        stray = await client.request(ImageErase())
        assert success(stray)
        orphan = await client.request(ImageUploadWrite(off=100, data=b"x"))
        assert error_v2(orphan) and orphan.err.rc == IMG_MGMT_ERR.INVALID_OFFSET

        assert device.running == running and device.read_slot(running) == before
        assert device.reboot() == running
        assert device.read_slot(running) == before
    run(go())


def test_downgrade_allowed_by_device_policy():
    async def go():
        device = new_device(allow_downgrade=True)
        client = await connected(device)
        await install(client, device, make_image(V2, 3000))
        old = make_image(V1, 3000, seed=6)
        await install(client, device, old)
        assert device.read_slot(device.running)[: len(old)] == old
    run(go())


def test_upload_during_a_trial_is_refused():
    async def go():
        device = new_device()
        client = await connected(device)
        await install(client, device, make_image(V1, 3000))
        new = make_image(V2, 3000, seed=1)
        await upload(client, new)
        assert success(await client.request(ImageStatesWrite(hash=sha(new))))
        device.reboot()
        assert device.trial
        with pytest.raises(SMPUploadError) as failed:
            await upload(client, make_image(V3, 3000))
        assert failed.value.args[0].err.rc == IMG_MGMT_ERR.NO_FREE_SLOT  # slot 1 is the fallback
    run(go())


class UnknownGroupRead(smpmsg.ReadRequest):
    _GROUP_ID = 50
    _COMMAND_ID = 0


class UnknownGroupError(smperror.ErrorV1):
    _GROUP_ID = 50


class ImageCoreList(smpmsg.ReadRequest):
    _GROUP_ID = smphdr.GroupId.IMAGE_MANAGEMENT
    _COMMAND_ID = smphdr.CommandId.ImageManagement.CORELIST


def _exchange(device, request: bytes) -> bytes:
    """One request through smp's serial encoder, the response through its decoder."""
    out = b"".join(device.feed(line) for line in smppacket.encode(request))
    decoder = smppacket.decode()
    next(decoder)
    for line in out.splitlines(keepends=True):
        try:
            decoder.send(line)
        except StopIteration as done:
            return done.value
    raise AssertionError(f"no complete response in {out!r}")


def test_unknown_group_command_and_version():
    device = new_device()
    rsp = UnknownGroupError.loads(_exchange(device, UnknownGroupRead().BYTES))
    assert rsp.rc == MGMT_ERR.ENOTSUP
    rsp = smpimg.ImageManagementErrorV1.loads(_exchange(device, ImageCoreList().BYTES))
    assert rsp.rc == MGMT_ERR.ENOTSUP
    # an SMP v1 request gets v1 errors (rc), never the v2 err map
    v1 = ImageUploadWrite(off=0, data=b"", len=CAPACITY + 1, image=1, version=smphdr.Version.V1)
    rsp = smpimg.ImageManagementErrorV1.loads(_exchange(device, v1.BYTES))
    assert rsp.header.version == smphdr.Version.V1 and rsp.rc == MGMT_ERR.ENOMEM
    # a missing required field: an echo with an empty map
    raw = bytearray(EchoWrite(d="x").BYTES)
    body = bytes([0xA0])
    raw[2:4] = len(body).to_bytes(2, "big")
    from smp.os_management import OSManagementErrorV1
    assert OSManagementErrorV1.loads(_exchange(device, bytes(raw[:8]) + body)).rc == MGMT_ERR.EINVAL


def test_malformed_frames_are_dropped_and_the_server_recovers():
    device = new_device()
    good = EchoWrite(d="still here").BYTES
    lines = list(smppacket.encode(good))
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 0xFF
    frames = [
        b"\x06\x09!!!!\n",                                   # not base64
        b"\x06\x09AAA\n",                                    # not whole quads
        list(smppacket.encode(bytes(bad_crc)))[0][:-5] + b"AAAA\n",  # CRC mismatch
        b"\x06\x09" + b"QUFB" * 400 + b"\n",                  # longer than the frame buffer
        b"\x04\x14QUFB\n",                                   # continuation without a start
        b"\x06\x09AAE=\n",                                   # length 1: shorter than a header
        bytes(range(256)) * 4,                               # noise
        lines[0][: len(lines[0]) // 2],                      # a frame cut off by the next start
    ]
    for frame in frames:
        assert device.feed(frame) == b""
    device.take_text()
    from smp.os_management import EchoWriteResponse
    assert EchoWriteResponse.loads(_exchange(device, good)).r == "still here"


def test_text_lines_share_the_uart():
    device = new_device()
    request = EchoWrite(d="hi")
    out = device.feed(b"name%\r\n")
    for line in smppacket.encode(request.BYTES):
        out += device.feed(line)
    out += device.feed(b"db load 12%\n\x06 plain text with a stray 0x06\n")
    assert device.take_text() == b"name%\r\ndb load 12%\n\x06 plain text with a stray 0x06\n"
    assert out.startswith(b"\x06\x09") and out.endswith(b"\n")


# ---- the model group -------------------------------------------------------------------

def test_model_group_info_inference_and_statistics():
    calls = []

    def infer(slot, data):
        calls.append((slot, data))
        if data == b"big":
            return bytes(4096), 1, 1  # an output larger than a response can carry
        return bytes(reversed(data))[:64], 1000 + len(data), 2000 + len(data)

    async def go():
        device = new_device(infer=infer, describe=lambda slot: (len(b"in"), 2, 4096))
        client = await connected(device)
        none = await client.request(ModelInfo())
        assert error_v2(none) and none.err.group == 96 and none.err.rc == 103  # -DC_ERR_NO_MODEL
        image = make_image(V1, 2000)
        await install(client, device, image)
        info = await client.request(ModelInfo())
        assert success(info), info
        assert info.hash == sha(image) and info.model_version == "0.1.0" and info.model_version_code == V1
        assert info.size == len(image) and info.slot == device.running and info.arena_bytes == 4096
        result = await client.request(Infer(input=b"\x01\x02\x03"))
        assert success(result) and result.output == b"\x03\x02\x01"
        assert (result.insn, result.cycles) == (1003, 2003)
        # an input larger than one frame goes in pieces, then runs once
        tensor = bytes(range(256)) * 12
        off = 0
        while off < len(tensor):
            piece = tensor[off:off + 900]
            rsp = await client.request(Infer(input=piece, off=off, len=len(tensor)))
            assert success(rsp)
            off += len(piece)
            if off < len(tensor):
                assert rsp.off == off and rsp.output is None
        assert rsp.output == bytes(reversed(tensor))[:64]
        assert calls[-1] == (device.running, tensor) and len(calls) == 2
        too_big = await client.request(Infer(input=b"big"))
        assert error_v2(too_big) and too_big.err.rc == 2  # -DC_ERR_BUFFER
        stats = await client.request(Stats())
        assert success(stats) and stats.inferences == 2 and stats.errors == 1  # since the reset and stats.insn_last == 1000 + len(tensor)
        assert stats.insn_total == 1003 + 1000 + len(tensor) and stats.running == device.running
    run(go())


def test_model_group_errors():
    async def go():
        device = new_device(infer=lambda slot, data: -72)  # DC_ERR_SHAPE from the runtime
        client = await connected(device)
        await install(client, device, make_image(V1, 2000))
        failed = await client.request(Infer(input=b"\x00" * 10))
        assert error_v2(failed) and failed.err.rc == 72
        plain = new_device()
        client = await connected(plain)
        unsupported = await client.request(Infer(input=b"\x00"))
        assert error_v1(unsupported) and unsupported.rc == MGMT_ERR.ENOTSUP
        assert error(unsupported)
    run(go())


def test_verifier_exceptions_propagate():
    def broken(image):
        raise RuntimeError("verifier bug")

    from host import _smp
    device = _smp.Device(broken)
    lines = list(smppacket.encode(ImageUploadWrite(off=0, data=b"abc", len=3, image=1).BYTES))
    with pytest.raises(RuntimeError, match="verifier bug"):
        for line in lines:
            device.feed(line)
