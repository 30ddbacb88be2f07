"""Deliver a .dcb model to a device: upload to slot 1 (resuming after a dropped link), test,
reset, wait for the device, confirm, or report the rollback (docs/protocol.md, "SMP").
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from typing import Protocol

from smp.image_management import IMG_MGMT_ERR
from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite, ImageUploadWrite
from smpclient.requests.os_management import ResetWrite

from dcagent.errors import DeviceError, TransportError
from dcagent.link.session import LINK_ERRORS, SmpSession
from dcagent.link.state import SlotState, slot_states
from host.container.hmac_tag import add_device_tag
from host.container.reader import open_container


#: The smallest frame the upload shrinks to after link failures (bytes, decoded).
MIN_FRAME = 256



class FlashProgress(Protocol):
    """What flash() reports while it works (the CLI draws a progress bar from it)."""

    def begin(self, total: int) -> None: ...
    def advance(self, offset: int) -> None: ...
    def note(self, message: str) -> None: ...


@dataclass
class FlashReport:
    """What a flash() did. `resumed_at` lists the device offsets the upload resumed from."""

    sha256: bytes
    size: int
    version: str = ""
    uploaded: bool = False
    resumed_at: list[int] = field(default_factory=list)
    reconnects: int = 0
    upload_s: float = 0.0
    total_s: float = 0.0
    tested: bool = False
    running: bool = False
    confirmed: bool = False
    trial: bool = False


class RolledBackError(DeviceError):
    """The device booted another model than the one just tested: it rolled back."""

    def __init__(self, message: str, report: FlashReport) -> None:
        super().__init__(message, hint="the device refused to run the new model at boot (re-verification failed)")
        self.report = report


def prepare_image(data: bytes, device_key: bytes | None) -> bytes:
    """The container as it goes on the wire: checked, and tagged with `device_key` if given.

    Raises BitstreamError for a malformed container, ValueError for a bad key length.
    """
    if device_key is not None:
        return add_device_tag(data, device_key)
    open_container(data)
    return data


class _Flasher:
    def __init__(self, session: SmpSession, image: bytes, progress: FlashProgress | None, retries: int,
                 reset_timeout_s: float, erase_timeout_s: float) -> None:
        self.erase_timeout_s = erase_timeout_s
        self.s = session
        self.image = image
        self.sha = hashlib.sha256(image).digest()
        self.progress = progress
        self.retries = retries
        self.reset_timeout_s = reset_timeout_s
        self.report = FlashReport(sha256=self.sha, size=len(image))
        self.failures = 0

    def note(self, message: str) -> None:
        if self.progress is not None:
            self.progress.note(message)

    async def link_failed(self, exc: BaseException, doing: str) -> None:
        """Count a link failure; reopen the port, or raise TransportError past the retry budget."""
        self.failures += 1
        if self.failures > self.retries:
            raise TransportError(f"{doing}: link failed {self.failures} times, last: {exc!r}") from exc
        self.note(f"link lost while {doing} ({type(exc).__name__}); reconnecting")
        await self.s.reopen(timeout_s=max(1.0, 4 * self.s.timeout_s))
        self.report.reconnects += 1

    def shrink_frames(self) -> None:
        """After a lost chunk, send smaller ones: on a noisy line a long frame rarely arrives whole."""
        current = self.s.effective_frame()
        if current is not None and current > MIN_FRAME:
            self.s.frame_size = max(MIN_FRAME, current // 2)
            self.note(f"using {self.s.frame_size}-byte frames")

    async def retry(self, doing: str, action):
        """Run `action()` until it returns, reopening after each link failure."""
        while True:
            try:
                return await action()
            except LINK_ERRORS as exc:
                await self.link_failed(exc, doing)

    async def states(self) -> list[SlotState]:
        return slot_states(await self.s.request(ImageStatesRead(), "reading the image state"))

    def chunk(self, off: int, opening: bool) -> ImageUploadWrite:
        """The upload request at `off`, carrying as many image bytes as one frame holds."""
        fields = {"len": len(self.image), "sha": self.sha, "image": 1, "upgrade": False} if opening else {}
        probe = ImageUploadWrite(off=off, data=b"", **fields)
        _, room = self.s.client.get_max_cbor_and_data_size(probe)
        return ImageUploadWrite(off=off, data=self.image[off:off + max(0, room)], **fields)

    async def upload_once(self, resuming: bool) -> None:
        """One pass: open the session (asking only for the offset when resuming), then send
        chunks from wherever the device says until it has them all. Raises DeviceError,
        LINK_ERRORS."""
        n = len(self.image)
        # a fresh session erases the slot before answering (seconds on real flash); a resume is quick
        opener = ImageUploadWrite(off=0, data=b"", len=n, sha=self.sha, image=1, upgrade=False) if resuming \
            else self.chunk(0, True)
        timeout = max(1.0, 2 * self.s.timeout_s) if resuming else self.erase_timeout_s
        response = await self.s.request(opener, "upload refused", timeout_s=timeout)
        off = int(response.off)
        if off > 0 and (resuming or off != len(opener.data)):
            self.report.resumed_at.append(off)
            self.note(f"device resumes the upload at byte {off}")
        while off < n:
            if self.progress is not None:
                self.progress.advance(off)
            response = await self.s.request(self.chunk(off, off == 0), "upload refused")
            if response.off is None or not 0 <= int(response.off) <= n:
                raise DeviceError(f"upload: the device answered offset {response.off} for a {n}-byte image")
            off = int(response.off)
        if self.progress is not None:
            self.progress.advance(off)
        if response.match is False:
            raise DeviceError("upload: the device reports that the image hash does not match")

    async def upload(self) -> None:
        began = time.monotonic()
        hash_retried = False
        resuming = False
        if self.progress is not None:
            self.progress.begin(len(self.image))
        while True:
            try:
                await self.upload_once(resuming)
                break
            except DeviceError as exc:
                if exc.code == IMG_MGMT_ERR.INVALID_HASH and not hash_retried:
                    hash_retried = True  # damaged in transit past the frame CRC: send it again
                    resuming = False
                    self.note("device found the image damaged; uploading it again")
                    continue
                raise
            except LINK_ERRORS as exc:
                self.shrink_frames()
                await self.link_failed(exc, "uploading")
                resuming = True
        self.report.uploaded = True
        self.report.upload_s = time.monotonic() - began

    async def mark_test(self) -> None:
        async def test():
            try:
                await self.s.request(ImageStatesWrite(hash=self.sha, confirm=False), "marking the model for test")
            except LINK_ERRORS:
                raise
            except DeviceError:
                # a retry after a lost answer: the first request may have taken effect
                if not any(st.hash == self.sha and st.pending for st in await self.states()):
                    raise
        await self.retry("marking the model for test", test)
        self.report.tested = True

    async def reset_and_wait(self) -> list[SlotState]:
        self.note("resetting the device")
        try:
            await self.s.request(ResetWrite(), "resetting", timeout_s=2.0)
        except LINK_ERRORS:
            pass  # the device may reset before its answer is out
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reset_timeout_s
        await asyncio.sleep(0.1)
        last: BaseException | None = None
        while loop.time() < deadline:
            try:
                await self.s.reopen(timeout_s=max(0.5, deadline - loop.time()))
                return await self.states()
            except (TransportError, *LINK_ERRORS) as exc:
                last = exc
                await asyncio.sleep(0.1)
        raise TransportError(f"the device did not come back within {self.reset_timeout_s} s after reset: {last}")

    async def confirm(self) -> None:
        async def do_confirm():
            try:
                await self.s.request(ImageStatesWrite(confirm=True), "confirming the model")
            except DeviceError:
                if not any(st.hash == self.sha and st.active and st.confirmed for st in await self.states()):
                    raise
        await self.retry("confirming", do_confirm)
        self.report.confirmed = True
        self.report.trial = False

    async def run(self, confirm: bool) -> FlashReport:
        began = time.monotonic()
        states = await self.retry("reading the image state", self.states)
        mine = [st for st in states if st.hash == self.sha]
        if any(st.active for st in mine):
            self.note("the device already runs this model")
            self.report.running = True
            self.report.version = mine[0].version
            self.report.confirmed = any(st.active and st.confirmed for st in mine)
            self.report.trial = not self.report.confirmed
        else:
            if not any(st.slot == 1 and st.bootable for st in mine):
                await self.upload()
            else:
                self.note("slot 1 already holds this model; not uploading")
            await self.mark_test()
            states = await self.reset_and_wait()
            active = [st for st in states if st.active]
            if not active or active[0].hash != self.sha:
                other = f"version {active[0].version}" if active else "no model"
                self.report.total_s = time.monotonic() - began
                raise RolledBackError(f"after the reset the device runs {other}, not the new model", self.report)
            self.report.running = True
            self.report.version = active[0].version
            self.report.trial = not active[0].confirmed
        if confirm and not self.report.confirmed:
            await self.confirm()
        self.report.total_s = time.monotonic() - began
        return self.report


async def flash_async(session: SmpSession, image: bytes, *, confirm: bool = False,
                      progress: FlashProgress | None = None, retries: int = 8,
                      reset_timeout_s: float = 30.0, erase_timeout_s: float = 10.0) -> FlashReport:
    """Upload `image` (already prepared: see prepare_image) over an open session, test it,
    reset, wait for the device, and confirm it when `confirm`. `erase_timeout_s` bounds the
    first upload request (the device erases the slot before it answers).

    Raises DeviceError for a refusal (the SMP error named), RolledBackError when the device
    boots another model, TransportError when the link fails more than `retries` times.
    """
    return await _Flasher(session, image, progress, retries, reset_timeout_s, erase_timeout_s).run(confirm)


def flash(port: str, data: bytes, *, confirm: bool = False, device_key: bytes | None = None,
          progress: FlashProgress | None = None, retries: int = 8, timeout_s: float = 2.5,
          reset_timeout_s: float = 30.0, erase_timeout_s: float = 10.0) -> FlashReport:
    """One call: tag `data` with `device_key` (if given), open `port`, flash_async, close.

    Raises BitstreamError / ValueError for a bad container or key, and what flash_async raises.
    """
    image = prepare_image(data, device_key)

    async def go() -> FlashReport:
        async with SmpSession(port, timeout_s=timeout_s) as session:
            return await flash_async(session, image, confirm=confirm, progress=progress, retries=retries,
                                     reset_timeout_s=reset_timeout_s, erase_timeout_s=erase_timeout_s)
    return asyncio.run(go())
