"""The native board updates itself over MQTT, with no gateway: a real mosquitto with the fleet
ACLs, `dcagent publish --serve` (or the publisher API for crafted manifests), the firmware's
own MQTT 3.1.1 client and fleet agent (firmware/lib/src/mqtt, firmware/lib/src/fleet).

Each board is a real process with a flash file; what it holds is read back from that file.
"""
from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.synthetic_dcb import make_container
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.local_broker import PUBLISHER_USER
from dcagent.fleet.messages import RejectReason, State
from dcagent.fleet.publisher import StreamServer, announce, manifest_for
from fwmqtt_device import NetBoard, StatusLog, raw_public_key, serve, signed_model
from host.container.reader import open_container
from tests.link_boards import slot_offset  # the one flash layout (firmware/app/app.h, docs/boards.md)

UPDATE_STATES = ["downloading", "verifying", "verified", "flashing", "testing", "confirmed"]


def slot_bytes(board: NetBoard, slot: int, size: int) -> bytes:
    data = (board.board.state_dir / "flash.bin").read_bytes()
    return data[slot_offset(slot): slot_offset(slot) + size]


def in_order(seen: list[str], wanted: list[str]) -> bool:
    it = iter(seen)
    return all(state in it for state in wanted)


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


@contextmanager
def announcing(broker, data: bytes, *, manifest=None, served: bytes | None = None, block_size: int = 4096):
    """Publish `manifest` (default: the one for `data`) and serve `served` (default `data`)."""
    client = BrokerClient(broker.url(PUBLISHER_USER), f"pub-{time.monotonic_ns()}", max_inflight=1000).connect()
    manifest = manifest or manifest_for(open_container(data), "alpha", block_size=block_size)
    server = StreamServer(client)
    stream_id = server.add(data)
    if served is not None:
        server.files[stream_id] = served
    announce(client, manifest)
    server.start()
    try:
        yield manifest
    finally:
        server.stop()
        client.close()


def install(board, broker, status_log, key, data: bytes, tmp_path) -> None:
    """Deliver `data` with `dcagent publish --serve` and wait until the board confirmed it."""
    model = tmp_path / "model.dcb"
    model.write_bytes(data)
    with serve(broker, model, tmp_path):
        board.start_agent(broker.url("dev-a1"), "alpha", raw_public_key(key))
        status_log.wait_state("dev-a1", State.CONFIRMED, timeout=60)


def test_board_fetches_verifies_boots_and_confirms_a_model(fleet_broker, status_log, board, key, tmp_path):
    data = signed_model(key, size=100_000, version=2)
    install(board, fleet_broker, status_log, key, data, tmp_path)

    confirmed = status_log.wait_state("dev-a1", State.CONFIRMED)
    assert (confirmed.model_name, confirmed.model_version, confirmed.reason) == ("synthetic", 2, None)
    assert in_order(status_log.states("dev-a1"), UPDATE_STATES), status_log.states("dev-a1")
    downloading = [s for s in status_log.statuses if s.state == State.DOWNLOADING]
    assert downloading[0].total == len(data) and downloading[0].stream_id is not None
    # Once the retained manifest arrives again, the confirmed status names its stream too.
    deadline = time.monotonic() + 10
    while status_log.wait_state("dev-a1", State.CONFIRMED).stream_id != downloading[0].stream_id:
        assert time.monotonic() < deadline, status_log.statuses[-1]
        time.sleep(0.05)
    assert status_log.wait_state("dev-a1", State.CONFIRMED).received == len(data)
    # Every request respected section 5.2 (BlockRequest.from_cbor checked it) and asked for
    # the board's own block size; together they covered the file.
    requested = {b for _, r in status_log.requests for b in r.blocks()}
    assert {r.block_size for _, r in status_log.requests} == {1024}
    assert requested == set(range((len(data) + 1023) // 1024))
    # The board rebooted into slot 0 on trial, confirmed it, and its anti-rollback floor moved.
    state = board.status()
    assert (state["state"], state["running"], state["version"], state["floor"]) == ("confirmed", "0", "2", "2")
    assert slot_bytes(board, 0, len(data)) == data


def test_transfer_resumes_after_the_broker_is_killed_and_restarted(fleet_broker, status_log, board, key, tmp_path):
    data = signed_model(key, size=100_000, version=2, seed=7)
    model = tmp_path / "model.dcb"
    model.write_bytes(data)
    time.sleep(1.2)  # mosquitto saves the monitor's persistent session (autosave_interval 1)
    with serve(fleet_broker, model, tmp_path, "--rate", "25000"):
        board.start_agent(fleet_broker.url("dev-a1"), "alpha", raw_public_key(key))
        deadline = time.monotonic() + 30
        while int(board.status()["received"].split("/")[0]) < 30_000:
            assert time.monotonic() < deadline, board.status()
            time.sleep(0.1)
        fleet_broker.kill()
        before = int(board.status()["received"].split("/")[0])
        time.sleep(0.5)
        restarted = time.monotonic()
        fleet_broker.start()
        status_log.wait_state("dev-a1", State.CONFIRMED, timeout=60)

    assert 30_000 <= before < len(data)
    after = [r for t, r in status_log.requests if t > restarted]
    assert after, "no block request was seen after the restart"
    # The first request after the restart repeats the interrupted window with a bitmap of the
    # blocks still missing; nothing before what the slot held was asked for again.
    assert min(min(r.blocks()) for r in after) * 1024 >= before - 1024, [(r.offset, r.blocks()) for r in after]
    assert slot_bytes(board, 0, len(data)) == data
    assert board.status()["version"] == "2"


def test_transfer_resumes_from_the_slot_after_the_board_restarts(fleet_broker, status_log, tmp_path, key):
    data = signed_model(key, size=100_000, version=2, seed=9)
    model = tmp_path / "model.dcb"
    model.write_bytes(data)
    board = NetBoard(tmp_path / "board")
    try:
        with serve(fleet_broker, model, tmp_path, "--rate", "25000"):
            board.start_agent(fleet_broker.url("dev-a1"), "alpha", raw_public_key(key))
            deadline = time.monotonic() + 30
            while int(board.status()["received"].split("/")[0]) < 40_000:
                assert time.monotonic() < deadline, board.status()
                time.sleep(0.1)
            board.close()  # the process ends mid-transfer; the flash file keeps the slot
            mark = status_log.mark()
            board = NetBoard(tmp_path / "board")  # provisioned in flash: the agent starts by itself
            resumed = status_log.wait_state("dev-a1", State.DOWNLOADING, since=mark)
            status_log.wait_state("dev-a1", State.CONFIRMED, timeout=60, since=mark)
        assert resumed.detail.startswith("resuming at byte ")
        offset = int(resumed.detail.rsplit(" ", 1)[1])
        assert 0 < offset < len(data) and offset % 4096 == 0  # the start of the last written sector
        assert slot_bytes(board, 0, len(data)) == data
    finally:
        board.close()


def _replace(manifest, **changes):
    return dataclasses.replace(manifest, **changes)


def test_bad_manifests_are_rejected_with_a_reason_and_the_running_model_stays(fleet_broker, status_log, board,
                                                                               key, tmp_path):
    v2 = signed_model(key, size=20_000, version=2)
    install(board, fleet_broker, status_log, key, v2, tmp_path)
    other_key = Ed25519PrivateKey.generate()
    v3 = signed_model(key, size=20_000, version=3, seed=3)
    v3_manifest = manifest_for(open_container(v3), "alpha")
    tampered = bytearray(v3)
    tampered[5000] ^= 0xFF
    cases = [
        ("downgrade", signed_model(key, size=20_000, version=1, seed=1), {}, None, RejectReason.DOWNGRADE),
        ("other target", signed_model(key, size=20_000, version=3, arch="cortex-m4", seed=2), {}, None,
         RejectReason.WRONG_TARGET),
        ("untrusted key", signed_model(other_key, size=20_000, version=3, seed=4), {}, None,
         RejectReason.UNTRUSTED_KEY),
        ("unsigned", make_container(size=20_000, version=3, arch="host", seed=5), {}, None, RejectReason.UNSIGNED),
        ("forged manifest", v3, {"content_sha256": bytes(32)}, None, RejectReason.BAD_SIGNATURE),
        ("too large", v3, {"size": 3_000_000}, None, RejectReason.TOO_LARGE),
        ("tampered file", v3, {}, bytes(tampered), RejectReason.HASH_MISMATCH),
    ]
    for what, data, changes, served, reason in cases:
        mark = status_log.mark()
        base = v3_manifest if data is v3 else manifest_for(open_container(data), "alpha")
        with announcing(fleet_broker, data, manifest=_replace(base, **changes), served=served):
            rejected = status_log.wait_state("dev-a1", State.REJECTED, timeout=30, since=mark)
        assert rejected.reason == reason, (what, rejected)
        assert rejected.detail, what
        state = board.status()
        assert (state["running"], state["version"], state["floor"]) == ("0", "2", "2"), (what, state)
        assert slot_bytes(board, 0, len(v2)) == v2, what
    # Only the tampered file was downloaded; everything else was refused from its manifest.
    assert [s.state.value for s in status_log.statuses].count("downloading") >= 2


def test_smp_and_the_fleet_agent_share_the_slots_and_the_floor(fleet_broker, status_log, board, key, tmp_path):
    """After the agent installed v2 (signed), a gateway-tagged model over SMP sees the same
    floor (v1 refused) and goes to the other slot; the agent then reports what runs."""
    from dcagent.errors import DeviceError
    from dcagent.link import flash, provision
    from smp.image_management import IMG_MGMT_ERR
    from tests.link_models import DEVICE_KEY, tagged

    install(board, fleet_broker, status_log, key, signed_model(key, size=20_000, version=2), tmp_path)
    port = board.board.port
    board.serial.close()
    try:
        provision(port, DEVICE_KEY)
        with pytest.raises(DeviceError) as info:
            flash(port, tagged(1, 3000))
        assert info.value.code == IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER
        v3 = tagged(3, 3000)
        report = flash(port, v3, confirm=True)
        assert report.confirmed
    finally:
        board.serial.open()
    state = board.status()
    assert (state["running"], state["version"], state["floor"]) == ("1", "3", "3")
    assert slot_bytes(board, 1, len(v3)) == v3
