"""Helpers for the tests of the firmware's own MQTT fleet client (tests/test_fwmqtt_*.py).

`NetBoard` runs the native firmware with a flash file and provisions its `fleet` agent over
the console; `StatusLog` records every status and block request through the broker's
`monitor` user; `serve()` runs `dcagent publish --serve` as a real process; `signed_model()`
builds a runnable one-layer container and signs it with the test's key.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import serial
from cryptography.hazmat.primitives import serialization

from dcagent.boards import create_board
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.local_broker import MONITOR_USER, PUBLISHER_USER
from dcagent.fleet.messages import BlockRequest, State, Status
from host.container.metadata import Target
from host.container.reader import open_container
from host.container.signing import sign_container
from host.runtime import arena_size
from tests.agent_harness import model
from tests.rollback_models import with_target

ROOT = Path(__file__).resolve().parents[1]
NATIVE_ARCH = "host"       # dc_port_info()->cpu of the native board: its target.arch
IO_TIMEOUT_S = 10.0


def raw_public_key(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signed_model(private_key, *, size: int = 100_000, version: int = 2, arch: str = NATIVE_ARCH,
                 seed: int = 0, name: str = "synthetic") -> bytes:
    """A signed container of about `size` bytes for the native board: a FULLY_CONNECTED layer
    with `size` raw int8 weights (10 outputs), so the board's self-test can run it; its
    `target.min_ram` is the arena the C runtime measures."""
    data = model(version, weights=size, seed=seed, arch=arch, name=name)
    target = Target(arch, arena_size(data), open_container(data).metadata.target.min_flash)
    return sign_container(with_target(data, target), private_key)


class NetBoard:
    """The native board with a flash file in `state_dir`, driven over its console."""

    def __init__(self, state_dir: Path) -> None:
        self.board = create_board("native", state_dir=state_dir)
        self.serial = serial.Serial(self.board.start(timeout=120.0), timeout=IO_TIMEOUT_S)

    def ask(self, line: str, timeout: float = IO_TIMEOUT_S) -> str:
        """Send one command, return its answer (greeting lines of a reboot are skipped)."""
        self.serial.reset_input_buffer()
        self.serial.write(line.encode() + b"\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = self.serial.readline()
            text = raw.decode(errors="replace").strip()
            if text and not (text.startswith("dcfw ") and text.endswith(" ready")):
                return text
        raise AssertionError(f"no answer to {line!r} within {timeout} s")

    def status(self) -> dict[str, str]:
        """`fleet status` as a dict of its key=value words."""
        line = self.ask("fleet status")
        assert line.startswith("fleet "), line
        return dict(word.split("=", 1) for word in line.split()[1:])

    def start_agent(self, url: str, fleet: str, public_key: bytes, device_id: str | None = None) -> None:
        args = f"fleet start {url} {fleet} {public_key.hex()}" + (f" {device_id}" if device_id else "")
        answer = self.ask(args)
        assert answer == "ok", answer

    @contextmanager
    def released(self):
        """The console port closed for the block, for another client (dcagent.link, the CLI)."""
        self.serial.close()
        try:
            yield self.board.port
        finally:
            self.serial.open()

    def close(self) -> None:
        self.serial.close()
        self.board.stop()


class StatusLog:
    """Every status and block request the `monitor` user sees."""

    def __init__(self, broker) -> None:
        self.statuses: list[Status] = []
        self.requests: list[tuple[float, BlockRequest]] = []
        self.lock = threading.Lock()
        # A persistent session: requests published while the broker restarts reach it later.
        self.client = BrokerClient(broker.url(MONITOR_USER), f"monitor-{time.monotonic_ns()}", clean_start=False,
                                   session_expiry=600).connect()
        self.client.subscribe(topics.all_status_filter(), self._on_status)
        self.client.subscribe(f"{topics.PREFIX}/devices/+/streams/+/get",
                              lambda t, p, r: self.requests.append((time.monotonic(), BlockRequest.from_cbor(p))))

    def _on_status(self, topic, payload, retained) -> None:
        if payload:
            with self.lock:
                self.statuses.append(Status.from_cbor(payload))

    def mark(self) -> int:
        """A position in the status log, for wait_state(since=...)."""
        with self.lock:
            return len(self.statuses)

    def states(self, device_id: str) -> list[str]:
        with self.lock:
            return [s.state.value for s in self.statuses if s.device_id == device_id]

    def wait_state(self, device_id: str, state: State, timeout: float = 30.0, since: int = 0) -> Status:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for status in reversed(self.statuses[since:]):
                    if status.device_id == device_id and status.state == state:
                        return status
            time.sleep(0.02)
        raise AssertionError(f"no {state.value} status from {device_id}; saw {self.states(device_id)}")

    def close(self) -> None:
        self.client.close()


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state")}


@contextmanager
def serve(broker, model: Path, tmp_path: Path, *extra: str, fleet: str = "alpha"):
    """`dcagent publish MODEL --serve` as a process until the block ends (SIGTERM, then kill)."""
    process = subprocess.Popen([sys.executable, "-m", "dcagent.cli", "publish", str(model), "--broker",
                                broker.url(PUBLISHER_USER), "--fleet", fleet, "--serve", *extra],
                               env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
