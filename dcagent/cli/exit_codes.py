"""Exit codes of the `dcagent` command, and the one mapping from errors to them.

| code | meaning |
|---|---|
| 0 | success |
| 1 | the operation ran but its goal was not met (e.g. accuracy budget, verification failed) |
| 2 | usage or configuration error (argparse uses 2 as well) |
| 3 | bad input: a model, data or bitstream file that is malformed or unsupported |
| 4 | a device, board or broker failed or answered with an error |
| 5 | measurement harness failure (a suite could not run) |
| 130 | interrupted |
"""
from __future__ import annotations

from host.errors import DcagentError, DataError, HostError, KeyFileError

SUCCESS = 0
GOAL_NOT_MET = 1
USAGE = 2
BAD_INPUT = 3
DEVICE = 4
HARNESS = 5


class GoalNotMetError(DcagentError):
    """The command did its work, but the result misses what was asked (exit code 1)."""


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code for `exc`, or None for an unexpected exception (a bug: let it trace)."""
    from dcagent.errors import AgentError, ConfigError  # local: keeps this module import-light
    from hil.errors import HilError  # noqa: PLC0415 - hil is part of the same distribution

    if isinstance(exc, GoalNotMetError):
        return GOAL_NOT_MET
    if isinstance(exc, (ConfigError, KeyFileError)):
        return USAGE
    if isinstance(exc, (HostError, DataError)):
        return BAD_INPUT
    if isinstance(exc, AgentError):
        return DEVICE
    if isinstance(exc, HilError):
        return HARNESS
    if isinstance(exc, DcagentError):
        return GOAL_NOT_MET
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return USAGE
    return None
