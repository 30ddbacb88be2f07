"""Errors of the measurement harness."""
from __future__ import annotations

from host.errors import DcagentError


class HilError(DcagentError):
    """An error of the hardware-in-the-loop harness (suites, meters, reports)."""


class SuiteError(HilError):
    """A suite file (or its baseline) is malformed or names something that does not exist."""


class MeterError(HilError):
    """A power meter is absent, refused a command or sent data the driver cannot read."""


class DriverError(HilError):
    """A board driver cannot do what was asked (a tool or the hardware is missing)."""


class StepTimeoutError(HilError):
    """A step of a case (power on, flash, run, ...) did not finish within its time limit."""

    def __init__(self, step: str, timeout_s: float) -> None:
        super().__init__(f"step '{step}' did not finish within {timeout_s:g} s")
        self.step = step
        self.timeout_s = timeout_s
