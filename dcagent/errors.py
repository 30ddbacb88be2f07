"""Errors of the delivery layer. All derive from `host.errors.DcagentError`."""
from __future__ import annotations

from host.errors import DcagentError


class AgentError(DcagentError):
    """An error of the delivery layer (transports, devices, boards, the gateway agent)."""


class ConfigError(AgentError):
    """Bad command-line arguments or configuration (missing files, conflicting options)."""


class TransportError(AgentError):
    """A link to a device or broker failed: timeout, closed port, broker unreachable."""


class DeviceError(AgentError):
    """A device answered with an error (e.g. an SMP error code) or misbehaved.

    `code` is the device's numeric error code when it sent one.
    """

    def __init__(self, message: str, *, code: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class BoardError(AgentError):
    """A board could not be built, started, or stopped."""
