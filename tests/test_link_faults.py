"""Faults on the device link with real processes: a dropped connection mid-upload resumes
from the device's offset; a noisy line (seeded drops, duplicates, bit flips, ~1 in 1000 bytes)
ends in a verified model or a clear error, never a corrupt model marked for test; a power
cut (SIGKILL, or the native board's torn flash write) mid-upload and mid-confirm leaves a
board that boots a verified model and can finish the update."""
import hashlib
import os
import threading

import pytest
import serial

from dcagent.errors import DeviceError, TransportError
from dcagent.link import Relay, flash, read_state
from dcagent.link.relay import TO_DEVICE
from dcagent.link.session import LINK_ERRORS
from tests.link_boards import board_running, kill9
from tests.link_models import tagged, version_code

V1, V2, V3 = version_code(1), version_code(2), version_code(3)


def test_a_port_whose_device_died_is_a_link_error():
    """A board killed while the host reopens its pty: pyserial's tcflush then raises termios.error
    (EIO), which is not an OSError. The session must retry it like any dropped link (it used to end
    the gateway agent, seen in CI on test_agent_faults' SIGKILL mid-flash)."""
    controller, device = os.openpty()
    port = serial.Serial(os.ttyname(device), timeout=0.1)
    try:
        os.close(controller)
        os.close(device)
        with pytest.raises(LINK_ERRORS):
            port.reset_input_buffer()
    finally:
        port.close()


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def running_hash(port: str) -> bytes:
    states = read_state(port)
    running = [st for st in states if st.active]
    assert len(running) == 1, states
    return running[0].hash


def test_dropped_connection_resumes_from_the_device_offset(tmp_path):
    image = tagged(V1, 40000, seed=1)
    with board_running("native", tmp_path) as board:
        cut = threading.Event()

        def on_bytes(direction, total):
            if direction == TO_DEVICE and total > 25000 and not cut.is_set():
                cut.set()
                relay.cut()  # the cable is pulled for 0.5 s
                threading.Timer(0.5, relay.restore).start()

        with Relay(board.port, on_bytes=on_bytes) as relay:
            report = flash(relay.port, image, confirm=True, timeout_s=0.3)
            sent = relay.to_device
        assert cut.is_set() and report.reconnects >= 1
        assert report.resumed_at and 15000 < report.resumed_at[0] < len(image)
        # resumed, not restarted: well under two images' worth of frames crossed the line
        assert sent < 1.5 * len(image) * 4 / 3
        assert running_hash(board.port) == sha(image)


@pytest.mark.parametrize("seed", [1, 2])
def test_noisy_line_gives_a_verified_model_or_a_clear_error(tmp_path, seed):
    old, new = tagged(V1, 3000, seed=10), tagged(V2, 4000, seed=seed)
    with board_running("native", tmp_path) as board:
        flash(board.port, old, confirm=True)
        with Relay(board.port, seed=seed, drop=1 / 3000, duplicate=1 / 3000, flip=1 / 3000) as relay:
            try:
                report = flash(relay.port, new, confirm=True, timeout_s=0.3, retries=80, erase_timeout_s=1.0)
                outcome = "ok"
            except (DeviceError, TransportError) as exc:
                outcome = str(exc)
                report = None
            faults = sum(relay.faults.values())
        states = read_state(board.port)  # on a clean line
    assert faults > 0
    known = {sha(old), sha(new)}
    assert all(st.hash in known for st in states), states  # never a corrupt model
    assert not any(st.pending and st.hash not in known for st in states)
    if outcome == "ok":
        assert report.confirmed and [st.hash for st in states if st.active] == [sha(new)]
    else:
        assert outcome  # a clear message, and the old model still runs
        assert [st.hash for st in states if st.active] in ([sha(old)], [sha(new)])


def test_sigkill_mid_upload_then_resume(tmp_path):
    m1, m2 = tagged(V1, 3000, seed=1), tagged(V2, 60000, seed=2)
    with board_running("native", tmp_path) as board:
        flash(board.port, m1, confirm=True)
        killed = threading.Event()

        def on_bytes(direction, total):
            if direction == TO_DEVICE and total > 40000 and not killed.is_set():
                killed.set()
                kill9(board)

        with Relay(board.port, on_bytes=on_bytes) as relay:
            with pytest.raises(TransportError):
                flash(relay.port, m2, confirm=True, timeout_s=0.3, retries=2, reset_timeout_s=1.0)
        assert killed.is_set()
    with board_running("native", tmp_path) as board:  # power back: the old model runs
        assert running_hash(board.port) == sha(m1)
        report = flash(board.port, m2, confirm=True)
        assert report.resumed_at and report.resumed_at[0] >= 4096  # the flash kept what was written
        assert running_hash(board.port) == sha(m2)


@pytest.mark.parametrize("phase", [pytest.param("upload", marks=pytest.mark.slow), "confirm"])
def test_power_cut_at_each_flash_write(tmp_path, phase):
    """The native board's torn write (DC_NATIVE_POWER_CUT=N: the N-th flash erase/write is
    half done, then SIGKILL), at every operation of an upload or of test+reset+confirm."""
    m1, m2 = tagged(V1, 3000, seed=1), tagged(V2, 5000, seed=2)
    state = tmp_path / "state"
    with board_running("native", state) as board:
        flash(board.port, m1, confirm=True)
        if phase == "confirm":
            flash(board.port, m2)  # uploaded and on trial
            # back to m1 so that the cut lands in test -> reset -> confirm of m2
            kill9(board)
    base = state / "flash.bin"
    snapshot = base.read_bytes()
    cuts = range(1, 30) if phase == "upload" else range(1, 8)
    completed_without_cut = False
    for n in cuts:
        base.write_bytes(snapshot)
        with board_running("native", state, env={"DC_NATIVE_POWER_CUT": str(n)}) as board:
            try:
                flash(board.port, m2, confirm=True, timeout_s=0.3, retries=0, reset_timeout_s=1.0)
                completed_without_cut = board.is_running
            except (TransportError, DeviceError):
                pass
        with board_running("native", state) as board:  # power on again
            running = running_hash(board.port)
            assert running in (sha(m1), sha(m2)), n  # a verified model boots
            report = flash(board.port, m2, confirm=True)  # and the update can be completed
            assert report.confirmed and running_hash(board.port) == sha(m2)
        if completed_without_cut:
            break
    assert completed_without_cut and n > 3, n  # the cuts covered every flash operation of the phase
