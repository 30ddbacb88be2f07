"""The gateway agent end to end: a real mosquitto, `dcagent agent` PROCESSES owning native boards,
models published over MQTT, every step reported, the board's slots queried over SMP after each
update; rejections (downgrade, unsigned, tampered, another target, a delta for another base)
leave the running model untouched; a delta update is rebuilt by the agent and confirmed."""
from __future__ import annotations

import time

import pytest

from dcagent.fleet.local_broker import LocalBroker
from dcagent.fleet.messages import RejectReason, State
from dcagent.link import infer
from host.container.signing import private_key_from_seed, sign_container
from host.delta import make_delta
from tests.agent_harness import AgentProcess, Keys, Monitor, Publisher, model

ORDER = [State.DOWNLOADING, State.VERIFYING, State.VERIFIED, State.FLASHING, State.TESTING, State.CONFIRMED]


@pytest.fixture
def rig(tmp_path):
    """(broker, keys, monitor, publisher), all stopped afterwards."""
    broker = LocalBroker(tmp_path / "broker", devices={"dev-a1": "alpha", "dev-a2": "alpha"}).start()
    keys = Keys(tmp_path / "config")
    monitor = Monitor(broker)
    publisher = Publisher(broker)
    yield broker, keys, monitor, publisher
    publisher.close()
    monitor.close()
    broker.kill()


def compressed(states: list[State]) -> list[State]:
    out = []
    for s in states:
        if not out or out[-1] != s:
            out.append(s)
    return out


def assert_runs(agent: AgentProcess, full: bytes, version_text: str) -> None:
    st = agent.active()
    assert st is not None and st.hash == agent.image_sha(full), (st, agent.log()[-2000:])
    assert st.confirmed and st.version == version_text


def test_publish_flash_confirm_then_rejections_leave_the_model_running(rig, tmp_path):
    broker, keys, monitor, publisher = rig
    agent = AgentProcess(broker, tmp_path / "agent", keys).start()
    try:
        v1 = keys.sign(model(1 << 24, seed=1))
        began = time.monotonic()
        m1 = publisher.publish(v1)
        final = monitor.wait_final(m1.stream_id, timeout=60)
        elapsed = time.monotonic() - began
        assert final.state == State.CONFIRMED, agent.log()[-3000:]
        assert compressed(monitor.states_of(m1.stream_id)) == ORDER
        print(f"publish -> confirmed on native: {elapsed:.2f} s")
        assert_runs(agent, v1, "1.0.0")
        # The confirmed model runs: one inference on the board answers with an output.
        assert len(infer(agent.port, __import__("numpy").zeros((1, 1, 300), dtype="int8"))) == 1

        v2 = keys.sign(model(2 << 24, seed=2))
        began = time.monotonic()
        assert monitor.wait_final(publisher.publish(v2).stream_id).state == State.CONFIRMED
        print(f"publish -> confirmed on native, agent idle: {time.monotonic() - began:.2f} s")
        assert_runs(agent, v2, "2.0.0")

        def rejected(data: bytes, version: int, reason: RejectReason, **kw) -> None:
            status = monitor.wait_final(publisher.publish(data, **kw).stream_id)
            assert status.model_version == version
            assert (status.state, status.reason) == (State.REJECTED, reason), status
            assert_runs(agent, v2, "2.0.0")   # untouched

        rejected(keys.sign(model(1 << 24, seed=3)), 1 << 24, RejectReason.DOWNGRADE)
        rejected(model(3 << 24, seed=4), 3 << 24, RejectReason.UNSIGNED)
        other = sign_container(model(4 << 24, seed=5), private_key_from_seed(bytes(range(32))))
        rejected(other, 4 << 24, RejectReason.UNTRUSTED_KEY)
        genuine = keys.sign(model(5 << 24, seed=6))
        tampered = bytearray(genuine)
        tampered[200] ^= 1
        rejected(genuine, 5 << 24, RejectReason.HASH_MISMATCH, served=bytes(tampered))
        rejected(keys.sign(model(6 << 24, seed=7, arch="cortex-m4")), 6 << 24, RejectReason.WRONG_TARGET)
        assert "Traceback" not in agent.log()
    finally:
        agent.stop()


def test_delta_update_is_rebuilt_and_confirmed(rig, tmp_path):
    broker, keys, monitor, publisher = rig
    from examples.finetune import finetune, load
    from host.model_format import pack

    graph, data = load("har")
    v1 = keys.sign(pack(graph, name="har", version=1))
    v2 = keys.sign(pack(finetune(graph, data, samples=60, steps=40, learning_rate=0.2), name="har", version=2))
    delta = keys.sign(make_delta(v1, v2)[0])
    stranger = keys.sign(make_delta(keys.sign(pack(graph, name="har", version=0)), v2)[0])
    assert len(delta) <= 0.15 * len(v2)
    agent = AgentProcess(broker, tmp_path / "agent", keys).start()
    try:
        assert monitor.wait_final(publisher.publish(v1).stream_id, timeout=60).state == State.CONFIRMED, \
            agent.log()[-3000:]
        # a delta against a model this agent never installed
        status = monitor.wait_final(publisher.publish(stranger).stream_id)
        assert (status.state, status.reason) == (State.REJECTED, RejectReason.BASE_MISMATCH), status
        assert_runs(agent, v1, "0.0.1")

        m2 = publisher.publish(delta)
        status = monitor.wait_final(m2.stream_id)
        assert status.state == State.CONFIRMED, agent.log()[-3000:]
        assert compressed(monitor.states_of(m2.stream_id)) == [
            State.DOWNLOADING, State.VERIFYING, State.VERIFIED, State.VERIFYING, State.VERIFIED, State.FLASHING,
            State.TESTING, State.CONFIRMED]
        assert any("rebuilt and verified the full model" in s.detail for _, s in monitor.statuses)
        assert_runs(agent, v2, "0.0.2")
        assert (tmp_path / "agent" / "models" / "installed.dcb").read_bytes() == v2
    finally:
        agent.stop()
