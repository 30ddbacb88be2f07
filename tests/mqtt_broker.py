"""Pytest fixtures: a real mosquitto (Debian's /usr/sbin/mosquitto 2.0) on free 127.0.0.1 ports.

`fleet_broker` has a plain listener; `fleet_broker_tls` adds a TLS listener that requires a
client certificate (CA, server and client certificates made per test with `cryptography`).
Both authenticate every client with a password and apply the fleet ACLs of
docs/protocol-mqtt.md section 7 (dcagent.fleet.local_broker writes the configuration).
Devices: dev-a1 and dev-a2 in fleet `alpha`, dev-b1 in fleet `beta`; users `publisher` and
`monitor`. Each broker is killed and its folder removed after the test.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dcagent.fleet.local_broker import MOSQUITTO, LocalBroker

__all__ = ["FLEET_DEVICES", "fleet_broker", "fleet_broker_tls"]

FLEET_DEVICES = {"dev-a1": "alpha", "dev-a2": "alpha", "dev-b1": "beta"}


def _broker(tmp_path: Path, tls: bool):
    if not Path(MOSQUITTO).exists() or shutil.which("mosquitto_passwd") is None:
        pytest.fail(f"{MOSQUITTO} and mosquitto_passwd are needed (apt-get install mosquitto)")
    broker = LocalBroker(tmp_path / "broker", devices=dict(FLEET_DEVICES), tls=tls)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@pytest.fixture
def fleet_broker(tmp_path: Path):
    """A started LocalBroker with a plain listener (`.url(user)` gives a login URL)."""
    yield from _broker(tmp_path, tls=False)


@pytest.fixture
def fleet_broker_tls(tmp_path: Path):
    """A started LocalBroker with a plain and a TLS listener (`.pki` holds the PEM files)."""
    yield from _broker(tmp_path, tls=True)
