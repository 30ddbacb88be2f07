"""The gateway agent (`dcagent agent`): fleet updates over MQTT, delivered to a board over SMP.

    from dcagent.agent import Agent, AgentConfig, connect_board
    board = connect_board("native", None, state_dir)        # or connect_board(None, "/dev/ttyACM0", ...)
    Agent(config, board, device_key).run(stop_event)

Modules: `agent` (the loop and its steps), `install` (flash, trial, health check, confirm),
`board_link` (a board the agent owns and restarts, or a port), `state` (what survives a
restart), `keys` (trusted publisher keys, the device's HMAC key). docs/protocol.md, MQTT
section 10, describes the behaviour; docs/keys.md the keys.
"""
from dcagent.agent.agent import Agent, AgentConfig
from dcagent.agent.board_link import BoardLink, ExternalBoard, OwnedBoard, connect_board

__all__ = ["Agent", "AgentConfig", "BoardLink", "ExternalBoard", "OwnedBoard", "connect_board"]
