"""Errors of the measurement harness."""
from __future__ import annotations

from host.errors import DcagentError


class HilError(DcagentError):
    """An error of the hardware-in-the-loop harness (suites, meters, reports)."""
