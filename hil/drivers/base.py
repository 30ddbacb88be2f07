"""The `BoardDriver` interface: behaviour over a passive `BoardResource` (labgrid's "drivers").

A driver powers a board on and off, puts firmware on it, loads a model and runs inferences,
each step bounded by a timeout given by the caller (hil/strategies.py sequences them).
"""
from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from hil.resources import BoardResource


@dataclass(frozen=True)
class Inference:
    """One inference on a board: raw output bytes and what the board counted.

    `instructions`: exact instructions of the inference (QEMU plugin: from the first op's
    start to the last op's end) or the device's own count; None when the board cannot count.
    `cycles`: the device's cycle counter (real boards; on QEMU it is virtual time, not cycles,
    and is not reported here). `layers`: instructions per op, in op order, when profiled.
    """

    output: bytes
    instructions: int | None = None
    cycles: int | None = None
    layers: tuple[int, ...] | None = None
    wall_s: float = 0.0


@dataclass(frozen=True)
class FirmwareInfo:
    """What was put on the board: the image and its static sizes (None when unknown)."""

    image: str
    flash_bytes: int | None = None  # code + constants + .data initialisers
    ram_bytes: int | None = None    # .data + .bss (before stack and arena)


@dataclass(frozen=True)
class LoadedModel:
    """The model the board runs after load_model(): sizes as the board reports them."""

    container_bytes: int
    arena_bytes: int | None = None
    arena_source: str = ""  # "device" (model info) or "host runtime" (same C code, sized on the host)
    notes: list[str] = field(default_factory=list)


def sized_by_host(resource: BoardResource, container: bytes, notes: list[str]) -> LoadedModel:
    """The LoadedModel of a board that loaded `container` but reported no arena: the least arena
    the board's firmware can run it in (`resource.runtime_device`, every decode mode), sized by
    the host runtime (the same C code). A board that decodes at load uses more; the note says so."""
    from host.runtime import DecodeMode, Device, arena_size

    device = Device[resource.runtime_device]
    notes = list(notes) + [f"the device reported no arena size: {device.name.lower().replace('_', '-')} "
                           "least arena (every decode mode), sized by the host runtime (same C code); "
                           "the board may use more"]
    return LoadedModel(container_bytes=len(container),
                       arena_bytes=arena_size(container, DecodeMode.AUTO, device=device),
                       arena_source="host runtime", notes=notes)


class InferenceSession(ABC):
    """An open link to a board with a model loaded: run() one input after another."""

    @abstractmethod
    def run(self, data: bytes) -> Inference:
        """One inference of `data` (the input tensor's bytes). Raises DeviceError/TransportError."""


class BoardDriver(ABC):
    """Behaviour of one board. Every method that waits takes a timeout and raises on expiry."""

    def __init__(self, resource: BoardResource) -> None:
        self.resource = resource

    @property
    def name(self) -> str:
        return self.resource.name

    @abstractmethod
    def flash_firmware(self, timeout_s: float) -> FirmwareInfo:
        """Build and/or program the firmware. Raises BoardError, DriverError."""

    @abstractmethod
    def power_on(self, timeout_s: float) -> None:
        """Start the board and wait until its firmware is ready. Raises BoardError."""

    @abstractmethod
    def power_off(self) -> None:
        """Stop the board (idempotent; never raises for a board that already ended)."""

    @abstractmethod
    def load_model(self, container: bytes, timeout_s: float) -> LoadedModel:
        """Deliver the .dcb and make it the running model. Raises DeviceError, TransportError."""

    @abstractmethod
    def session(self, timeout_s: float) -> contextlib.AbstractContextManager[InferenceSession]:
        """An inference session; each request is bounded by `timeout_s`."""

    def console(self, line: str, timeout_s: float) -> str:
        """Send one bring-up console command and return its answer line. Raises DriverError
        when the board has no console, TransportError/DeviceError as the link does."""
        from hil.errors import DriverError
        raise DriverError(f"board {self.name} ({self.resource.kind}) has no console")

    def logs(self) -> str:
        """What the board printed (process output, firmware log) so far; empty when unknown."""
        return ""

    def kill(self) -> None:
        """End the board at once (the watchdog calls this from another thread)."""
        self.power_off()

    @property
    def exit_code(self) -> int | None:
        """The board process's exit status once it ended (simulated boards), else None."""
        return None

    @contextlib.contextmanager
    def powered(self, timeout_s: float) -> Iterator["BoardDriver"]:
        """power_on() ... power_off(), also on errors."""
        try:
            self.power_on(timeout_s)
            yield self
        finally:
            self.power_off()
