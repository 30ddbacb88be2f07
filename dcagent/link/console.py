"""The firmware's text console over the serial port: one command line, one answer line
(docs/boards.md, "The bring-up console"), for provisioning and quick checks."""
from __future__ import annotations

import time

import serial

from dcagent.errors import DeviceError, TransportError


def console_command(port: str, line: str, *, timeout_s: float = 3.0) -> str:
    """Send `line` + "\\n" and return the device's answer line (without "\\r\\n").

    Lines the device printed before (a boot greeting) are discarded. Raises TransportError
    when the port cannot be opened or no answer arrives, DeviceError for an "error: ..." answer.
    """
    try:
        link = serial.Serial(port, 115200, timeout=0.05)
    except (serial.SerialException, OSError) as exc:
        raise TransportError(f"cannot open {port}: {exc}") from exc
    try:
        link.reset_input_buffer()
        link.write(line.encode() + b"\n")
        deadline = time.monotonic() + timeout_s
        buf = b""
        while time.monotonic() < deadline:
            buf += link.read(256)
            if b"\r\n" in buf:
                answer = buf.split(b"\r\n", 1)[0].decode(errors="replace")
                if answer.startswith("error: "):
                    raise DeviceError(f"{line.split()[0]}: {answer[len('error: '):]}")
                return answer
        raise TransportError(f"no answer to {line.split()[0]!r} from {port} within {timeout_s} s")
    except (serial.SerialException, OSError) as exc:
        raise TransportError(f"{port}: {exc}") from exc
    finally:
        link.close()


def provision(port: str, device_key: bytes, *, timeout_s: float = 3.0) -> None:
    """Store `device_key` (1..64 bytes) as the device's HMAC key (console `provision`).

    Idempotent for the same key. Raises ValueError for a bad key length, DeviceError when the
    device already holds another key, TransportError for a link failure.
    """
    if not 1 <= len(device_key) <= 64:
        raise ValueError(f"device key must be 1..64 bytes, got {len(device_key)}")
    answer = console_command(port, f"provision {device_key.hex()}", timeout_s=timeout_s)
    if answer != "ok":
        raise DeviceError(f"provision: unexpected answer {answer!r}")
