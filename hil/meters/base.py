"""The `PowerMeter` interface: one acquisition between start() and stop() gives the energy.

    with create_meter("ppk2:/dev/ttyACM1", voltage_v=3.3) as meter:
        meter.power(True)            # supply the target (meters that can)
        meter.start(); run_inferences(); acq = meter.stop()
        acq.energy_j / n             # joules per inference
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

from hil.errors import MeterError


@dataclass(frozen=True)
class Acquisition:
    """What a meter measured between start() and stop()."""

    energy_j: float
    duration_s: float
    samples: int
    meter: str  # the meter kind ("ppk2", "lpm01a", "joulescope")

    @property
    def mean_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0


class PowerMeter(ABC):
    """A power meter. Use as a context manager (open/close). Every failure is a MeterError."""

    kind: str = ""

    def __enter__(self) -> "PowerMeter":
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @abstractmethod
    def open(self) -> None:
        """Connect and configure the instrument. Raises MeterError."""

    @abstractmethod
    def close(self) -> None:
        """Stop any acquisition, release the instrument (idempotent)."""

    @abstractmethod
    def start(self) -> None:
        """Begin an acquisition. Raises MeterError."""

    @abstractmethod
    def stop(self) -> Acquisition:
        """End the acquisition and return what it measured. Raises MeterError."""

    def power(self, on: bool) -> None:
        """Switch the target's supply (meters that supply it). Raises MeterError otherwise."""
        raise MeterError(f"{self.kind} cannot switch the target's supply")
