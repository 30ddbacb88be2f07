"""The root of every error dcagent raises, and the errors of the host library.

`DcagentError` lives here because `host` is the bottom layer: `dcagent` and `hil` subclass it
without `host` ever importing them. Only the CLI maps these errors to messages and exit codes.
"""
from __future__ import annotations


class DcagentError(Exception):
    """Root of all dcagent errors. `hint` says what the user can do next, if anything."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class HostError(DcagentError):
    """An error of the host library (compression, formats)."""


class CodecError(HostError):
    """The entropy coder was given levels it cannot code, or a payload it cannot decode.

    `status` is the C status name (e.g. ``"DC_ERR_TRUNCATED"``) when the C code reported it.
    """

    def __init__(self, message: str, *, status: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class BitstreamError(HostError):
    """A container (.dcb) is malformed, truncated, tampered with or unsupported.

    `status` is the matching C status name; `offset` the byte offset where the problem was
    found, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status: str | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.offset = offset


class SignatureError(BitstreamError):
    """The container's signature is missing, malformed, or does not verify with the key."""


class KeyFileError(HostError):
    """A key file is missing, unreadable or not a key of the expected kind."""


class ModelError(HostError):
    """A model file cannot be read, or uses ops/shapes the compressor does not support."""


class DataError(HostError):
    """User data (.npz) does not fit the model: shape, dtype, labels, emptiness."""


class KernelError(HostError):
    """An int8 kernel refused its arguments (bad shape, buffer too small, parameter out of range).

    `status` is the C status name (e.g. ``"DC_ERR_SHAPE"``) the kernel returned.
    """

    def __init__(self, message: str, *, status: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
