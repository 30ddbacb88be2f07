"""Errors of fleet updates over MQTT. All derive from dcagent.errors.AgentError."""
from __future__ import annotations

from dcagent.errors import AgentError, TransportError


class BrokerError(TransportError):
    """The broker could not be reached, refused the connection, or the link failed.

    `reason_code` is the MQTT reason code when the broker sent one (CONNACK, SUBACK, PUBACK).
    """

    def __init__(self, message: str, *, reason_code: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason_code = reason_code


class NotAuthorizedError(BrokerError):
    """The broker refused a subscription or a publication (ACL): SUBACK/PUBACK 0x80 or 0x87."""


class MessageError(AgentError):
    """A fleet message (manifest, block request/response, status) is malformed or too large.

    `field` names the offending field when one is known.
    """

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class StreamError(AgentError):
    """A block transfer failed: the stream server refused a request, or no block arrived in time.

    `code` is the stream server's error code (docs/protocol.md, MQTT section 5.4) when it sent one.
    """

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class UpdateRejectedError(AgentError):
    """The device refused an update: `reason` (a RejectReason) says why (signature, downgrade, ...)."""

    def __init__(self, message: str, *, reason: object, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
