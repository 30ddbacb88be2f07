"""MQTT topic names of fleet updates (docs/protocol.md, MQTT section 2), built and parsed here only.

Every topic starts with `dcagent/v1/`. Fleet names, device ids and stream ids are single
topic levels: 1 to 64 characters of `[A-Za-z0-9_.-]` (no `/`, `+`, `#`, `$`, no spaces), so
a name can never widen a subscription or an ACL pattern.
"""
from __future__ import annotations

import re

from dcagent.errors import ConfigError

PREFIX = "dcagent/v1"
STREAM_SERVER_GROUP = "dcagent-streams"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_name(value: str, what: str) -> str:
    """`value` if it is a valid topic level name; raises ConfigError naming `what` otherwise."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or value in (".", ".."):
        raise ConfigError(f"{what} {value!r} is not 1-64 characters of A-Z a-z 0-9 _ . -",
                          hint="fleet names, device ids and stream ids are single MQTT topic levels")
    return value


def manifest(fleet: str) -> str:
    """Retained manifest of a fleet's current model (publisher writes, devices read)."""
    return f"{PREFIX}/fleets/{check_name(fleet, 'fleet')}/manifest"


def stream_get(device_id: str, stream_id: str) -> str:
    """Where device `device_id` publishes its block requests for `stream_id`."""
    return f"{PREFIX}/devices/{check_name(device_id, 'device id')}/streams/{check_name(stream_id, 'stream id')}/get"


def stream_data(device_id: str, stream_id: str) -> str:
    """Where the stream server answers `device_id` with blocks of `stream_id`."""
    return f"{PREFIX}/devices/{check_name(device_id, 'device id')}/streams/{check_name(stream_id, 'stream id')}/data"


def stream_rejected(device_id: str, stream_id: str) -> str:
    """Where the stream server answers `device_id` with an error about a request."""
    return (f"{PREFIX}/devices/{check_name(device_id, 'device id')}/streams/"
            f"{check_name(stream_id, 'stream id')}/rejected")


def status(device_id: str) -> str:
    """Retained status telemetry of one device."""
    return f"{PREFIX}/devices/{check_name(device_id, 'device id')}/status"


def stream_get_filter(stream_id: str, *, group: str | None = STREAM_SERVER_GROUP) -> str:
    """The stream server's subscription for requests of `stream_id` from any device.

    With `group` it is a shared subscription (`$share/{group}/...`), so a pool of servers
    splits the requests; `group=None` gives the plain filter.
    """
    plain = f"{PREFIX}/devices/+/streams/{check_name(stream_id, 'stream id')}/get"
    return f"$share/{check_name(group, 'group')}/{plain}" if group else plain


def all_status_filter() -> str:
    """Every device's status (for dashboards and tests)."""
    return f"{PREFIX}/devices/+/status"


def parse_stream_get(topic: str) -> tuple[str, str] | None:
    """(device_id, stream_id) of a request topic, or None when `topic` is not one."""
    parts = topic.split("/")
    if len(parts) != 7 or "/".join(parts[:3]) != f"{PREFIX}/devices" or parts[4] != "streams" or parts[6] != "get":
        return None
    device_id, stream_id = parts[3], parts[5]
    if not (_NAME.fullmatch(device_id) and _NAME.fullmatch(stream_id)):
        return None
    return device_id, stream_id


def parse_status(topic: str) -> str | None:
    """The device id of a status topic, or None when `topic` is not one."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{PREFIX}/devices" or parts[4] != "status":
        return None
    return parts[3] if _NAME.fullmatch(parts[3]) else None
