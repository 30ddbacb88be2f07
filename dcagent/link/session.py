"""An SMP session with a device over a serial port (pyserial path, e.g. a board's pty).

Wraps `smpclient.SMPClient` with the MCUmgr console framing (`SMPSerialTransport`, the
framing the firmware serves beside its text protocols): opening and re-opening the port,
reading the device's buffer size, and typed errors. All methods are coroutines; the
public one-call helpers in `dcagent.link` run them with `asyncio.run`.
"""
from __future__ import annotations

import asyncio
import binascii
import logging
from typing import Any

from serial import SerialException
from smp.exceptions import SMPException
from smpclient import SMPClient
from smpclient.exceptions import SMPBadSequence, SMPValidationException
from smpclient.generics import error, success
from smpclient.requests.os_management import MCUMgrParametersRead
from smpclient.transport import SMPTransportDisconnected
from smpclient.transport.serial import Auto, BufferSize, SMPSerialTransport

from dcagent.errors import TransportError
from dcagent.link.errors import device_error

try:  # POSIX: pyserial calls termios directly (tcflush on a port whose device has gone raises EIO)
    from termios import error as _TermiosError
except ImportError:  # pragma: no cover - Windows
    class _TermiosError(Exception):
        """Never raised where termios does not exist."""

#: Failures of the link itself (not answers of the device): worth a reconnect and a retry. termios.error is
#: not an OSError: pyserial lets it out of reset_input_buffer when the board dies while the port is reopened.
LINK_ERRORS = (TimeoutError, asyncio.TimeoutError, SMPTransportDisconnected, SMPBadSequence,
               SMPValidationException, SMPException, binascii.Error, SerialException, OSError, _TermiosError)

#: smpclient logs every timeout at ERROR; the session reports them itself.
logging.getLogger("smpclient").setLevel(logging.CRITICAL)


class SmpSession:
    """One SMP client on `port`. Use `async with SmpSession(port) as s: ...`.

    `line_length` is the base64 line length of requests (128 = MCUmgr's convention; the
    firmware accepts longer lines). `timeout_s` is the default per-request timeout.
    """

    def __init__(self, port: str, *, timeout_s: float = 2.5, line_length: int | None = None,
                 frame_size: int | None = None, baudrate: int = 115200) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.line_length = line_length
        self.frame_size = frame_size
        self.baudrate = baudrate
        self.buf_size: int | None = None
        self.reconnects = 0
        self.client: SMPClient | None = None
        self._transport: SMPSerialTransport | None = None

    async def __aenter__(self) -> "SmpSession":
        await self.open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def effective_frame(self) -> int | None:
        """The decoded frame size requests are cut to: the device's buf_size, or less when
        `frame_size` asks for smaller frames (a noisy link loses fewer bytes per error)."""
        if self.buf_size is None:
            return None
        return min(self.buf_size, self.frame_size) if self.frame_size else self.buf_size

    def _new_client(self) -> None:
        frame = self.effective_frame()
        if frame is None:
            strategy: Any = Auto()
        else:
            strategy = BufferSize(frame, line_length=self.line_length or 128)
        self._transport = SMPSerialTransport(strategy, baudrate=self.baudrate)
        self.client = SMPClient(self._transport, self.port, timeout_s=self.timeout_s)

    async def open(self, timeout_s: float = 5.0) -> None:
        """Open the port and read the device's buffer size (retried until `timeout_s`).

        Raises TransportError when the port cannot be opened or the device never answers.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last: BaseException | None = None
        while True:
            await self.close()
            self._new_client()
            assert self._transport is not None and self.client is not None
            try:
                await self._transport.connect(self.port, max(0.1, deadline - loop.time()))
                params = await self.client.request(MCUMgrParametersRead(), timeout_s=min(1.0, self.timeout_s))
                if success(params):
                    known = self.effective_frame()
                    self.buf_size = int(params.buf_size)
                    if known != self.effective_frame():
                        continue  # first contact, or the device changed: reopen with its size
                    return
                last = device_error("reading the MCUmgr parameters", params)
            except LINK_ERRORS as exc:
                last = exc
            if loop.time() >= deadline:
                await self.close()
                raise TransportError(f"no SMP answer from {self.port}: {last}") from last
            await asyncio.sleep(0.05)

    async def reopen(self, timeout_s: float = 10.0) -> None:
        """Close and open again (a dropped connection, a device that reset). Raises TransportError."""
        self.reconnects += 1
        await self.open(timeout_s)

    async def close(self) -> None:
        if self._transport is not None:
            try:
                await self._transport.disconnect()
            except LINK_ERRORS:
                pass
        self._transport = None
        self.client = None

    async def request(self, req: Any, what: str, *, timeout_s: float | None = None) -> Any:
        """Send `req`; return the success response.

        Raises DeviceError (the device answered with an error; `code` = its rc) or one of
        LINK_ERRORS for a link failure (the caller decides whether to reopen and retry).
        """
        if self.client is None:
            raise SMPTransportDisconnected(f"session on {self.port} is closed")
        response = await self.client.request(req, timeout_s=timeout_s)
        if error(response):
            raise device_error(what, response)
        return response

    async def read_text(self) -> bytes:
        """Text (non-SMP bytes) the device wrote since the last call."""
        if self._transport is None:
            return b""
        return await self._transport.read_serial()
