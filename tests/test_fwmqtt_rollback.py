"""The native board's own fleet agent rolls back a model that fails its self-test after the swap:
a real mosquitto, the publisher's stream server, the firmware's MQTT client and fleet agent.

After rebooting into a new model on trial, the board runs it once on the check input
(dcagent.fleet.check, dc_fleet_check_input) and compares the outputs with the manifest's
`check_sha256`. A signed, hash-valid model whose arena exceeds the board's RAM (its metadata
understates target.min_ram, so the manifest check lets it through) fails at load; a model whose
outputs differ from the announced digest fails the comparison. Both times the board resets into
the previous model, reports `rolled_back` with the reason, and does not fetch that image again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dcagent.fleet.check import check_digest
from dcagent.fleet.messages import RejectReason, State
from dcagent.fleet.publisher import manifest_for
from dcagent.link import infer, read_state
from fwmqtt_device import NATIVE_ARCH, NetBoard, StatusLog, signed_model
from host.container.reader import open_container
from host.container.signing import sign_container
from host.runtime import DecodeMode, Runtime, arena_size
from tests.rollback_models import NATIVE_ARENA, wide_model
from tests.test_fwmqtt_update import announcing, install

pytestmark = pytest.mark.slow
DEVICE = "dev-a1"


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def board(tmp_path):
    b = NetBoard(tmp_path / "board")
    yield b
    b.close()


@pytest.fixture
def status_log(fleet_broker):
    log = StatusLog(fleet_broker)
    yield log
    log.close()


def states_since(log: StatusLog, mark: int) -> list[str]:
    with log.lock:
        return [s.state.value for s in log.statuses[mark:] if s.device_id == DEVICE]


def wait_detail(log: StatusLog, text: str, since: int, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.lock:
            for status in log.statuses[since:]:
                if status.device_id == DEVICE and text in status.detail:
                    return status
        time.sleep(0.05)
    raise AssertionError(f"no status with {text!r}; saw {[(s.state.value, s.detail) for s in log.statuses[since:]]}")


def assert_runs(board: NetBoard, data: bytes) -> None:
    """Over SMP: the active slot holds `data`, confirmed, and answers an inference as `data` does."""
    port = board.board.port
    board.serial.close()
    try:
        active = [st for st in read_state(port) if st.active]
        assert len(active) == 1 and active[0].confirmed, active
        assert active[0].hash == hashlib.sha256(data).digest()
        runtime = Runtime(data)
        x = np.random.default_rng(1).integers(-128, 128, size=(1, *runtime.inputs[0].shape), dtype=np.int8)
        assert infer(port, x)[0].output == b"".join(o.tobytes() for o in runtime.run([x[0]]))
    finally:
        board.serial.open()


def test_models_failing_the_self_test_are_rolled_back_and_not_fetched_again(fleet_broker, status_log, board, key,
                                                                            tmp_path):
    v2 = signed_model(key, size=20_000, version=2)
    install(board, fleet_broker, status_log, key, v2, tmp_path)
    confirmed = status_log.wait_state(DEVICE, State.CONFIRMED)
    assert confirmed.detail.startswith("self-test passed: the outputs for the check input equal"), confirmed.detail
    assert manifest_for(open_container(v2), "alpha").check_sha256 == check_digest(v2) is not None

    # 1. Signed, hash-valid, accepted into the slot, booted on trial: refused by the runtime at load.
    wide = sign_container(wide_model(3, arch=NATIVE_ARCH, claimed_ram=65536), key)
    assert arena_size(wide) > NATIVE_ARENA
    mark = status_log.mark()
    with announcing(fleet_broker, wide) as manifest:
        assert manifest.target.min_ram == 65536
        rolled = wait_detail(status_log, "self-test: the model does not run", mark, timeout=60)
        assert (rolled.state, rolled.reason) == (State.ROLLED_BACK, RejectReason.BOARD_ERROR), rolled
        assert (rolled.model_name, rolled.model_version) == ("wide", 3), rolled
        # the board loads with AUTO: the smallest arena of any decode mode is what it reports missing
        assert f"DC_ERR_ARENA (it needs {arena_size(wide, DecodeMode.AUTO)} bytes of arena, the board has {NATIVE_ARENA})" \
            in rolled.detail, rolled.detail
        # Back on the network, the retained manifest arrives again: the image is not fetched again.
        wait_detail(status_log, "failed its trial run before", mark)
    seen = states_since(status_log, mark)
    assert seen.count("downloading") == 1 and seen.count("testing") == 1, seen
    it = iter(seen)
    assert all(s in it for s in ["downloading", "verifying", "verified", "flashing", "testing", "rolled_back"]), seen
    state = board.status()
    assert (state["running"], state["version"], state["floor"]) == ("0", "2", "2"), state
    assert_runs(board, v2)

    # 2. A runnable model whose outputs differ from the manifest's check_sha256.
    v4 = signed_model(key, size=20_000, version=4, seed=4)
    wrong = dataclasses.replace(manifest_for(open_container(v4), "alpha"), check_sha256=hashlib.sha256(b"x").digest())
    mark = status_log.mark()
    with announcing(fleet_broker, v4, manifest=wrong):
        rolled = wait_detail(status_log, "differ from the manifest's check_sha256", mark, timeout=60)
    assert (rolled.state, rolled.reason, rolled.model_version) == (State.ROLLED_BACK, RejectReason.BOARD_ERROR, 4)
    assert board.status()["version"] == "2"
    assert_runs(board, v2)

    # 3. The next model, announced with its true digest, is confirmed.
    v5 = signed_model(key, size=20_000, version=5, seed=5)
    mark = status_log.mark()
    with announcing(fleet_broker, v5):
        done = status_log.wait_state(DEVICE, State.CONFIRMED, timeout=60, since=mark)
    assert done.model_version == 5 and done.detail.startswith("self-test passed: the outputs for the check input")
    assert board.status()["version"] == "5"
    assert_runs(board, v5)
