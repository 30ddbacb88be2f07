"""The gateway agent under faults, with real processes: the broker killed and restarted during a
(throttled) transfer, the agent SIGKILLed at different steps and restarted, the board's power
cut mid-flash (DC_NATIVE_POWER_CUT, kill -9), the serial link cut mid-flash. Each update
completes later, and the board runs a verified model throughout."""
from __future__ import annotations

import os
import signal
import time

import pytest

from dcagent.boards import create_board
from dcagent.fleet.local_broker import LocalBroker
from dcagent.fleet.messages import State
from dcagent.link import Relay, read_state
from tests.agent_harness import AgentProcess, Keys, Monitor, Publisher, model

BIG = 200_000   # weights: a ~300 KB container, so that uploads take long enough to be interrupted


@pytest.fixture
def rig(tmp_path):
    broker = LocalBroker(tmp_path / "broker", devices={"dev-a1": "alpha"}).start()
    keys = Keys(tmp_path / "config")
    monitor = Monitor(broker)
    yield broker, keys, monitor
    monitor.close()
    broker.kill()


def assert_runs(agent_or_port, full: bytes, sha: bytes) -> None:
    port = agent_or_port if isinstance(agent_or_port, str) else agent_or_port.port
    running = [st for st in read_state(port) if st.active]
    assert running and running[0].hash == sha and running[0].confirmed, running


def verified_models_on(flash_dir, allowed: set[bytes]) -> None:
    """Power the board on from its flash alone: it must boot one of `allowed` (verified images)."""
    board = create_board("native", state_dir=flash_dir)
    board.start(timeout=60)
    try:
        running = [st for st in read_state(board.port) if st.active]
        assert running and running[0].hash in allowed, running
    finally:
        board.stop()


@pytest.mark.slow
def test_broker_killed_and_restarted_during_a_throttled_transfer(rig, tmp_path):
    broker, keys, monitor = rig
    publisher = Publisher(broker, rate=20_000)
    agent = AgentProcess(broker, tmp_path / "agent", keys).start()
    try:
        v1 = keys.sign(model(1, weights=60_000, seed=1))
        m1 = publisher.publish(v1)
        monitor.wait(lambda s: s.stream_id == m1.stream_id and s.state == State.DOWNLOADING and s.received > 0,
                     what="download progress")
        broker.kill()
        time.sleep(1.5)
        broker.start()
        status = monitor.wait_final(m1.stream_id, timeout=60)
        assert status.state == State.CONFIRMED, agent.log()[-3000:]
        assert_runs(agent, v1, agent.image_sha(v1))
    finally:
        agent.stop()
        publisher.close()


@pytest.mark.slow
@pytest.mark.parametrize("step", [State.DOWNLOADING, State.VERIFIED, State.FLASHING, State.TESTING])
def test_agent_sigkilled_at_a_step_resumes(rig, tmp_path, step):
    broker, keys, monitor = rig
    publisher = Publisher(broker, rate=100_000 if step == State.DOWNLOADING else None)
    agent = AgentProcess(broker, tmp_path / "agent", keys).start()
    try:
        v1 = keys.sign(model(1, seed=1))
        assert monitor.wait_final(publisher.publish(v1).stream_id, timeout=60).state == State.CONFIRMED
        v2 = keys.sign(model(2, weights=BIG, seed=2))
        m2 = publisher.publish(v2)
        monitor.wait(lambda s: s.stream_id == m2.stream_id and s.state == step, timeout=30, what=step.value)
        agent.kill()
        verified_models_on(tmp_path / "agent" / "board", {agent.image_sha(v1), agent.image_sha(v2)})
        agent.start()
        status = monitor.wait_final(m2.stream_id, timeout=60)
        assert status.state == State.CONFIRMED, agent.log()[-3000:]
        assert_runs(agent, v2, agent.image_sha(v2))
        assert "Traceback" not in agent.log()
    finally:
        agent.stop()
        publisher.close()


@pytest.mark.slow
def test_board_power_cut_and_kill9_mid_flash(rig, tmp_path):
    broker, keys, monitor = rig
    publisher = Publisher(broker)
    agent = AgentProcess(broker, tmp_path / "agent", keys).start()
    try:
        v1 = keys.sign(model(1, seed=1))
        assert monitor.wait_final(publisher.publish(v1).stream_id, timeout=60).state == State.CONFIRMED
        agent.stop()
        # the N-th flash write of the next board start is torn and the board dies (docs/boards.md)
        agent.start(env={"DC_NATIVE_POWER_CUT": "120"})
        v2 = keys.sign(model(2, weights=BIG, seed=2))
        m2 = publisher.publish(v2)
        status = monitor.wait_final(m2.stream_id, timeout=90)
        assert status.state == State.CONFIRMED, agent.log()[-3000:]
        assert agent.board_info()["restarts"] >= 1
        assert "exit status -9); powering it on again" in agent.log()
        assert_runs(agent, v2, agent.image_sha(v2))

        v3 = keys.sign(model(3, weights=BIG, seed=3))
        m3 = publisher.publish(v3)
        # Kill the board as soon as the agent says it is flashing: the upload of a ~300 KB
        # container has just begun (waiting longer lets a fast upload finish first under load).
        monitor.wait(lambda s: s.stream_id == m3.stream_id and s.state == State.FLASHING, what="flashing")
        restarts = agent.board_info()["restarts"]
        os.kill(agent.board_info()["pid"], signal.SIGKILL)
        status = monitor.wait_final(m3.stream_id, timeout=90)
        assert status.state == State.CONFIRMED, agent.log()[-3000:]
        assert agent.board_info()["restarts"] > restarts
        assert_runs(agent, v3, agent.image_sha(v3))
    finally:
        agent.stop()
        publisher.close()


@pytest.mark.slow
def test_serial_link_cut_mid_flash(rig, tmp_path):
    broker, keys, monitor = rig
    publisher = Publisher(broker)
    board = create_board("native", state_dir=tmp_path / "flash")
    board.start(timeout=60)
    relay = Relay(board.port)
    port = relay.start()
    agent = AgentProcess(broker, tmp_path / "agent", keys, board=None, port=port).start()
    try:
        v1 = keys.sign(model(1, weights=BIG, seed=1))
        m1 = publisher.publish(v1)
        monitor.wait(lambda s: s.stream_id == m1.stream_id and s.state == State.FLASHING, what="flashing")
        time.sleep(0.3)
        relay.cut()
        time.sleep(3.0)
        relay.restore()
        status = monitor.wait_final(m1.stream_id, timeout=90)
        assert status.state == State.CONFIRMED, agent.log()[-3000:]
        assert_runs(port, v1, agent.image_sha(v1))
        assert "link: link lost while uploading" in agent.log()
    finally:
        agent.stop()
        relay.stop()
        board.stop()
        publisher.close()
