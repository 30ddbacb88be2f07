"""Helpers for the gateway-agent tests: agent PROCESSES (`python -m dcagent.cli agent`), a
status monitor, a publisher thread, small models for the native board, and slot queries."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.local_broker import MONITOR_USER, PUBLISHER_USER, LocalBroker
from dcagent.fleet.messages import State, Status
from dcagent.fleet.publisher import StreamServer, announce, manifest_for
from dcagent.link import read_state
from host.container.hmac_tag import add_device_tag
from host.container.layout import LevelDtype
from host.container.metadata import (Compressor, Graph, Metadata, ModelInfo, Node, Quantization, Target,
                                     TensorInfo)
from host.container.reader import open_container
from host.container.signing import generate_keypair, load_private_key, sign_container
from host.container.writer import TensorPayload, build_container

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "dev-a1"
FLEET = "alpha"
FINAL = (State.CONFIRMED, State.ROLLED_BACK, State.REJECTED)


def model(version: int, *, weights: int = 3000, seed: int = 0, arch: str = "generic", name: str = "fc01") -> bytes:
    """An unsigned container: one FULLY_CONNECTED layer with `weights` int8 levels (raw codec)."""
    outputs = 10
    inputs = max(1, weights // outputs)
    levels = np.random.default_rng(seed).integers(-127, 128, size=(outputs, inputs), dtype=np.int32)
    meta = Metadata(
        model=ModelInfo(name, version), target=Target(arch, min_ram=4096, min_flash=weights + 4096),
        compressor=Compressor("dcagent-tests", "0.1.0", {"coder": "raw"}),
        graph=Graph((1,), (2,), (Node("FULLY_CONNECTED", (1, 0, -1), (2,), {}),),
                    (TensorInfo("input", (1, inputs), LevelDtype.INT8, Quantization((0.05,), (-3,), 0)),
                     TensorInfo("output", (1, outputs), LevelDtype.INT8, Quantization((0.1,), (0,), 0)))),
        tensors=(TensorInfo("fc/weights", (outputs, inputs), LevelDtype.INT8,
                            Quantization(tuple(0.01 for _ in range(outputs)), tuple(0 for _ in range(outputs)), 0)),),
    )
    return build_container(meta, [TensorPayload.raw(levels.reshape(-1), LevelDtype.INT8)])


class Keys:
    """The development key pair of a private $XDG_CONFIG_HOME (what the agent uses by default)."""

    def __init__(self, config_home: Path) -> None:
        self.config_home = config_home
        self.pair = generate_keypair(config_home / "dcagent" / "keys")
        self.private = load_private_key(self.pair.private_path)

    def sign(self, data: bytes) -> bytes:
        return sign_container(data, self.private)


class Monitor:
    """Every status message of every device, with arrival times."""

    def __init__(self, broker: LocalBroker) -> None:
        self.statuses: list[tuple[float, Status]] = []
        self._lock = threading.Lock()
        self.client = BrokerClient(broker.url(MONITOR_USER), f"monitor-{os.getpid()}-{id(self)}").connect()
        self.client.subscribe(topics.all_status_filter(), self._on, qos=1)

    def _on(self, topic: str, payload: bytes, retained: bool) -> None:
        if payload and not retained:
            with self._lock:
                self.statuses.append((time.monotonic(), Status.from_cbor(payload)))

    def states(self, version: int | None = None) -> list[State]:
        with self._lock:
            return [s.state for _, s in self.statuses if version is None or s.model_version == version]

    def wait(self, predicate, timeout: float = 30.0, what: str = "a status") -> Status:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            with self._lock:
                items = self.statuses[seen:]
            for _, status in items:
                if predicate(status):
                    return status
            seen += len(items)
            time.sleep(0.02)
        raise AssertionError(f"no {what} within {timeout} s; saw {[(s.state.value, s.model_version, s.reason, s.detail[:80]) for _, s in self.statuses]}")

    def wait_final(self, stream_id: str, timeout: float = 30.0) -> Status:
        """The first final status (confirmed, rolled_back, rejected) about stream `stream_id`."""
        return self.wait(lambda s: s.stream_id == stream_id and s.state in FINAL, timeout,
                         f"final status of stream {stream_id}")

    def states_of(self, stream_id: str) -> list[State]:
        with self._lock:
            return [s.state for _, s in self.statuses if s.stream_id == stream_id]

    def close(self) -> None:
        self.client.close()


class Publisher:
    """Announces containers (retained manifest) and serves their blocks from a thread."""

    def __init__(self, broker: LocalBroker, *, rate: float | None = None) -> None:
        self.client = BrokerClient(broker.url(PUBLISHER_USER), f"publisher-{os.getpid()}-{id(self)}",
                                   max_inflight=1000).connect()
        self.server = StreamServer(self.client, rate_limit=rate).start()
        self.manifest = None
        self.client.add_connect_hook(self._reannounce)

    def _reannounce(self) -> None:
        if self.manifest is not None:
            self.client.publish(topics.manifest(self.manifest.fleet), self.manifest.to_cbor(), qos=1, retain=True,
                                wait=False)

    def publish(self, data: bytes, *, fleet: str = FLEET, served: bytes | None = None, block_size: int = 1024):
        """Announce `data` (a container: signed or not) and serve it (or `served` under its stream id)."""
        manifest = manifest_for(open_container(data), fleet, block_size=block_size)
        self.server.files[manifest.stream_id] = served if served is not None else data
        self.server._subscribe(manifest.stream_id)   # noqa: SLF001 - add() would key `served` by its own hash
        self.manifest = manifest
        announce(self.client, manifest)
        return manifest

    def close(self) -> None:
        self.server.stop()
        self.client.close()


class AgentProcess:
    """`dcagent agent` as a child process with its own state directory and log."""

    def __init__(self, broker: LocalBroker, state_dir: Path, keys: Keys, *, device_id: str = DEVICE,
                 fleet: str = FLEET, board: str | None = "native", port: str | None = None,
                 extra: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.log_path = state_dir.parent / f"{state_dir.name}.log"
        self.argv = [sys.executable, "-m", "dcagent.cli", "agent", "--broker", broker.url(device_id),
                     "--device-id", device_id, "--fleet", fleet, "--state-dir", str(state_dir),
                     "--stall-timeout", "20", "--retry-max", "2", *(["--board", board] if board else ["--port", port]),
                     *(extra or [])]
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(keys.config_home), **(env or {}))
        self.process: subprocess.Popen | None = None

    def start(self, env: dict[str, str] | None = None) -> "AgentProcess":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, env={**self.env, **(env or {})}, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, cwd=ROOT)
        return self

    def kill(self) -> None:
        """SIGKILL (the board it owns ends with it, by PR_SET_PDEATHSIG)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._wait_board_gone()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._wait_board_gone()

    def _wait_board_gone(self) -> None:
        pid = self.board_info().get("pid")
        deadline = time.monotonic() + 10
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def board_info(self) -> dict:
        try:
            return json.loads((self.state_dir / "board.json").read_text())
        except (OSError, ValueError):
            return {}

    @property
    def port(self) -> str:
        return str(self.state_dir / "board.tty")

    def device_key(self) -> bytes:
        return bytes.fromhex((self.state_dir / "device.key").read_text().strip())

    def image_sha(self, full: bytes) -> bytes:
        """SHA-256 of `full` as the board stores it (tagged with this agent's device key)."""
        return hashlib.sha256(add_device_tag(full, self.device_key())).digest()

    def active(self):
        """The board's running slot (SlotState), or None."""
        running = [st for st in read_state(self.port) if st.active]
        return running[0] if running else None
