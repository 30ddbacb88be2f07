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


def console_model(port: str, *, timeout_s: float = 3.0) -> dict[str, str]:
    """The fields of the console's `model` answer (`model key=value ...`: arena, arena_needed,
    mode, scratch, ... as firmware/app prints them), as strings.

    Raises DeviceError for an "error: ..." answer or one that is not a `model` line,
    TransportError for a link failure.
    """
    answer = console_command(port, "model", timeout_s=timeout_s)
    words = answer.split()
    if not words or words[0] != "model" or any("=" not in w for w in words[1:]):
        raise DeviceError(f"model: unexpected answer {answer!r}")
    return dict(word.split("=", 1) for word in words[1:])


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


def provision_fleet(port: str, publisher_key: bytes, broker_url: str, fleet: str, device_id: str | None = None, *,
                    timeout_s: float = 3.0) -> None:
    """Store the fleet record: the trusted publisher's Ed25519 public key (32 raw bytes) and the
    broker settings (console `fleet start URL FLEET KEYHEX [DEVICE_ID]`, firmware/app/fleet_app.h).
    From then on the board also accepts models signed by that key, and its own MQTT agent runs.

    Raises ValueError for a bad key length, DeviceError when the device refuses (usage, flash),
    TransportError for a link failure."""
    if len(publisher_key) != 32:
        raise ValueError(f"publisher key must be 32 bytes (Ed25519), got {len(publisher_key)}")
    line = f"fleet start {broker_url} {fleet} {publisher_key.hex()}" + (f" {device_id}" if device_id else "")
    answer = console_command(port, line, timeout_s=timeout_s)
    if answer != "ok":
        raise DeviceError(f"fleet start: unexpected answer {answer!r}")


#: Bytes of DER per `fleet tls` line (the console takes 256 characters a line).
TLS_CHUNK = 120
#: Bytes of DER the board's TLS record holds (CA + client certificate + key).
TLS_RECORD_MAX = 2048


def provision_tls(port: str, ca: bytes, cert: bytes = b"", key: bytes = b"", *, timeout_s: float = 3.0) -> None:
    """Store the TLS record the board's own MQTT agent uses for `mqtts://` (console `fleet tls`,
    firmware/app/fleet_app.h): the CA certificate the broker's certificate must verify against
    and, for brokers that require one, the client certificate and its private key, all DER.

    Raises ValueError (no CA, a certificate without a key, more than 2048 bytes in all),
    DeviceError when the device refuses, TransportError for a link failure."""
    if not ca or bool(cert) != bool(key) or len(ca) + len(cert) + len(key) > TLS_RECORD_MAX:
        raise ValueError("the TLS record needs a CA certificate, a client key with a client certificate, "
                         f"and at most {TLS_RECORD_MAX} bytes in all")
    for part, data in (("ca", ca), ("cert", cert), ("key", key)):
        for at in range(0, len(data), TLS_CHUNK):
            answer = console_command(port, f"fleet tls {part} {data[at:at + TLS_CHUNK].hex()}", timeout_s=timeout_s)
            if answer != "ok":
                raise DeviceError(f"fleet tls: unexpected answer {answer!r}")
    answer = console_command(port, "fleet tls save", timeout_s=timeout_s)
    if answer != "ok":
        raise DeviceError(f"fleet tls save: unexpected answer {answer!r}")
