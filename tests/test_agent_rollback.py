"""A real rollback through the gateway agent: a real mosquitto, `dcagent agent` as a process owning
a native board, a correctly signed model that the board accepts into its slot and boots on trial
but cannot run (its activations need ~472 KB of arena, the board has 384 KB: the runtime refuses
it at load, every inference answers DC_ERR_ARENA). The agent's health check fails, the board
goes back to the previous model, the agent records the outcome on disk and never tries that
update again, even after a restart; the next good update is confirmed."""
from __future__ import annotations

import time

import cbor2
import numpy as np
import pytest

from dcagent.fleet.local_broker import LocalBroker
from dcagent.fleet.messages import RejectReason, State
from dcagent.link import infer
from host.runtime import Runtime, arena_size
from tests.agent_harness import AgentProcess, Keys, Monitor, Publisher, model
from tests.rollback_models import NATIVE_ARENA, input_of, wide_model

pytestmark = pytest.mark.slow


def compressed(states: list[State]) -> list[State]:
    out: list[State] = []
    for s in states:
        if not out or out[-1] != s:
            out.append(s)
    return out


def wait_log(agent: AgentProcess, text: str, since: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in agent.log()[since:]:
        assert time.monotonic() < deadline, f"no {text!r} in the agent's log: {agent.log()[since:][-2000:]}"
        time.sleep(0.05)


def test_a_model_the_board_cannot_run_is_rolled_back_and_never_retried(tmp_path):
    broker = LocalBroker(tmp_path / "broker", devices={"dev-a1": "alpha"}).start()
    keys = Keys(tmp_path / "config")
    monitor = Monitor(broker)
    publisher = Publisher(broker)
    agent = AgentProcess(broker, tmp_path / "agent", keys).start()
    try:
        v1 = keys.sign(model(1 << 24, seed=1))
        assert monitor.wait_final(publisher.publish(v1).stream_id, timeout=90).state == State.CONFIRMED, \
            agent.log()[-3000:]
        old = agent.active()
        assert old is not None and old.confirmed and old.hash == agent.image_sha(v1)

        wide = keys.sign(wide_model(2 << 24))
        assert arena_size(wide) > NATIVE_ARENA   # the host runs it; the board cannot
        m2 = publisher.publish(wide)
        final = monitor.wait_final(m2.stream_id, timeout=60)
        assert (final.state, final.reason) == (State.ROLLED_BACK, RejectReason.BOARD_ERROR), final
        assert "DC_ERR_ARENA" in final.detail, final.detail
        assert compressed(monitor.states_of(m2.stream_id)) == [
            State.DOWNLOADING, State.VERIFYING, State.VERIFIED, State.FLASHING, State.TESTING, State.ROLLED_BACK]

        # The board runs the previous model again, confirmed, and it answers as that model does.
        st = agent.active()
        assert st is not None and st.hash == agent.image_sha(v1) and st.confirmed and st.version == "1.0.0", st
        x = input_of(v1, seed=3)
        want = Runtime(v1).run([x[0]])[0].tobytes()
        assert infer(agent.port, x)[0].output == want

        # On disk: no update pending, this stream handled as rolled back, the installed model is v1.
        saved = cbor2.loads((tmp_path / "agent" / "agent.cbor").read_bytes())
        assert saved["pending"] is None
        assert dict((bytes(k), v) for k, v in saved["handled"])[m2.stream_id.encode()] == "rolled_back"
        assert saved["installed"]["version"] == 1 << 24
        assert (tmp_path / "agent" / "models" / "installed.dcb").read_bytes() == v1

        # A restarted agent gets the same retained manifest again and leaves it alone.
        agent.stop()
        mark = len(agent.log())
        seen = len(monitor.statuses)
        agent.start()
        wait_log(agent, f"(stream {m2.stream_id}) was handled before (rolled_back); not trying it again", mark)
        assert not [s for _, s in monitor.statuses[seen:] if s.stream_id == m2.stream_id]

        # The next good update goes through.
        v3 = keys.sign(model(3 << 24, seed=4))
        assert monitor.wait_final(publisher.publish(v3).stream_id, timeout=60).state == State.CONFIRMED
        st = agent.active()
        assert st is not None and st.hash == agent.image_sha(v3) and st.confirmed
        assert infer(agent.port, input_of(v3, seed=5))[0].output == \
            Runtime(v3).run([input_of(v3, seed=5)[0]])[0].tobytes()
        assert "Traceback" not in agent.log()
    finally:
        agent.stop()
        publisher.close()
        monitor.close()
        broker.kill()


def test_input_of_matches_the_graph_input():
    x = input_of(model(1, seed=1))
    assert x.shape == (1, 1, 300) and x.dtype == np.int8
