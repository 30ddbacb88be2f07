"""Test helpers for the SMP server: a simulated device (host._smp.Device) behind an smpclient
transport that frames with smp's own serial encoder/decoder, and the test image format."""
from __future__ import annotations

import hashlib
import hmac
import struct

from smp import packet as smppacket
from smpclient import SMPClient

from dcagent.link.model_group import (  # the product's own model-group messages
    Infer, InferResponse, ModelErrorV1, ModelInfo, ModelInfoResponse, Stats, StatsResponse,
)
from dcagent.link.model_group import ModelErrorV2 as ModelError
from host import _smp

DEVICE_KEY = b"per-device key for tests"
MAGIC = b"TIMG"
DC_ERR_MAGIC, DC_ERR_AUTH = -40, -46


def make_image(version: int, payload_len: int, seed: int = 0) -> bytes:
    """A test model: "TIMG" | version (LE u32) | payload | HMAC-SHA256(device key, all before)."""
    payload = bytes((seed * 131 + i * 7 + (i >> 5)) & 0xFF for i in range(payload_len))
    body = MAGIC + struct.pack("<I", version) + payload
    return body + hmac.new(DEVICE_KEY, body, hashlib.sha256).digest()


def verify(image: bytes) -> tuple[int, bytes] | int:
    """The injected verifier: magic and HMAC, hash = SHA-256 of the whole image."""
    if len(image) < 40 or image[:4] != MAGIC:
        return DC_ERR_MAGIC
    if not hmac.compare_digest(hmac.new(DEVICE_KEY, image[:-32], hashlib.sha256).digest(), image[-32:]):
        return DC_ERR_AUTH
    return struct.unpack_from("<I", image, 4)[0], hashlib.sha256(image).digest()


def new_device(**kwargs) -> _smp.Device:
    return _smp.Device(verify, **kwargs)


class DeviceTransport:
    """An smpclient transport into a host._smp.Device: requests are framed with
    smp.packet.encode (the MCUmgr serial console framing), responses parsed with
    smp.packet.decode. `drop_responses` loses that many responses (a flaky link)."""

    _smp_server_transport_buffer_size: int | None = None

    def __init__(self, device: _smp.Device, line_length: int = 128) -> None:
        self.device = device
        self.line_length = line_length
        self.rx = bytearray()
        self.drop_responses = 0

    async def connect(self, address: str, timeout_s: float) -> None:
        self.rx.clear()

    async def disconnect(self) -> None:
        pass

    def initialize(self, smp_server_transport_buffer_size: int) -> None:
        self._smp_server_transport_buffer_size = smp_server_transport_buffer_size

    @property
    def mtu(self) -> int:
        return self._smp_server_transport_buffer_size or 256

    @property
    def max_unencoded_size(self) -> int:
        return self.mtu - 4

    async def send(self, data: bytes) -> None:
        if len(data) > self.max_unencoded_size:  # as smpclient's SMPSerialTransport does
            raise ValueError(f"Data size {len(data)} exceeds maximum unencoded size {self.max_unencoded_size}")
        for line in smppacket.encode(data, line_length=self.line_length):
            out = self.device.feed(line)
            if out and self.drop_responses:
                self.drop_responses -= 1
                continue
            self.rx += out

    async def receive(self) -> bytes:
        decoder = smppacket.decode()
        next(decoder)
        while True:
            end = self.rx.find(b"\n")
            if end < 0:
                raise TimeoutError("the device sent no (complete) response")
            line = bytes(self.rx[: end + 1])
            del self.rx[: end + 1]
            try:
                decoder.send(line)
            except StopIteration as done:
                return done.value

    async def send_and_receive(self, data: bytes) -> bytes:
        await self.send(data)
        return await self.receive()


def client_for(device: _smp.Device) -> tuple[SMPClient, DeviceTransport]:
    transport = DeviceTransport(device)
    return SMPClient(transport, "sim"), transport
