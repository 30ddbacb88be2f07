"""The device's model slots as MCUmgr reports them (image group, state read)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from smpclient.requests.image_management import ImageStatesRead

from dcagent.link.session import SmpSession


@dataclass(frozen=True)
class SlotState:
    """One slot holding a verified model. `slot` 0 = primary (running), 1 = secondary."""

    slot: int
    version: str
    hash: bytes
    bootable: bool
    pending: bool
    confirmed: bool
    active: bool
    permanent: bool


def slot_states(response) -> list[SlotState]:
    """The SlotStates of an ImageStatesRead/Write response, by slot number."""
    out = [SlotState(slot=int(img.slot), version=str(img.version), hash=bytes(img.hash or b""),
                     bootable=bool(img.bootable), pending=bool(img.pending), confirmed=bool(img.confirmed),
                     active=bool(img.active), permanent=bool(img.permanent))
           for img in response.images]
    return sorted(out, key=lambda st: st.slot)


def read_state(port: str, *, timeout_s: float = 2.5) -> list[SlotState]:
    """The slots of the device on `port`. Raises TransportError, DeviceError."""
    async def go() -> list[SlotState]:
        async with SmpSession(port, timeout_s=timeout_s) as session:
            return slot_states(await session.request(ImageStatesRead(), "reading the image state"))
    return asyncio.run(go())
