"""Install a verified model on the agent's board: flash, boot on trial, check, confirm or roll back.

One attempt (`install`) runs the SMP steps of dcagent.link and says how it ended. It is safe
to run again after any interruption (agent killed, board power cut, link cut): `flash`
resumes an interrupted upload, skips one already in slot 1, and finds a model already
running; the board's slot state is the truth the attempt starts from.

The health check after the trial boot: the board must run the new image (slot state); when
its firmware has a model runtime, one inference on a fixed input must return exactly what
the host's build of the same C runtime computes (host.runtime); an inference error or a
different output rolls the board back. When the host cannot compute a reference for the
model, the check is the boot and the slot verification alone, and the outcome says so.
"""
from __future__ import annotations

import asyncio
import enum
import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from smpclient.requests.os_management import ResetWrite

from dcagent.agent.board_link import BoardLink
from dcagent.errors import DeviceError, TransportError
from dcagent.link import RolledBackError, SmpSession, flash, infer, prepare_image, read_state
from dcagent.link.session import LINK_ERRORS

#: Seconds to wait for an owned board that is restarting before an attempt gives up.
BOARD_WAIT_S = 30.0


class Step(str, enum.Enum):
    FLASHING = "flashing"
    TESTING = "testing"


class Outcome(str, enum.Enum):
    CONFIRMED = "confirmed"
    ROLLED_BACK = "rolled_back"
    RETRY = "retry"          # interrupted (link, power): run the attempt again later
    REFUSED = "refused"      # the board refused the model: final


@dataclass(frozen=True)
class InstallResult:
    outcome: Outcome
    detail: str
    image_sha256: bytes
    checked_inference: bool = False


def _active(port: str):
    running = [st for st in read_state(port) if st.active]
    return running[0] if running else None


def _reset(port: str) -> None:
    async def go() -> None:
        async with SmpSession(port) as session:
            try:
                await session.request(ResetWrite(), "resetting", timeout_s=2.0)
            except LINK_ERRORS:
                pass
    asyncio.run(go())


def _expected_output(full: bytes) -> tuple[np.ndarray, bytes] | None:
    """(an input, the output the host's C runtime computes for it), or None when it cannot run."""
    try:
        from host.runtime import Runtime  # noqa: PLC0415 - the extension is optional for the agent
        runtime = Runtime(full)
        spec = runtime.inputs[0]
        x = np.full(spec.shape, np.clip(spec.zero_point, -128, 127), dtype=np.int8)
        return x, runtime.run([x])[0].tobytes()
    except Exception:  # noqa: BLE001 - no reference: the check falls back to the boot alone
        return None


def _health(port: str, full: bytes) -> tuple[bool, str, bool]:
    """(healthy, detail, inference checked)."""
    expected = _expected_output(full)
    if expected is None:
        return True, "booted on trial (no host reference to check an inference against)", False
    x, want = expected
    try:
        got = infer(port, x[None, ...])[0].output
    except DeviceError as exc:
        return False, f"inference on the new model failed: {exc}", False
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        return False, f"inference differs from the host runtime at output byte {first}", True
    return True, "booted on trial; one inference equals the host runtime's", True


class _Notes:
    """A dcagent.link FlashProgress that passes the link's notes (reconnects, resumed offsets) to a log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log

    def begin(self, total: int) -> None:
        pass

    def advance(self, offset: int) -> None:
        pass

    def note(self, message: str) -> None:
        self.log(f"link: {message}")


def install(board: BoardLink, full: bytes, device_key: bytes, *, on_step: Callable[[Step], None],
            log: Callable[[str], None] = lambda message: None, flash_retries: int = 6,
            reset_timeout_s: float = 20.0) -> InstallResult:
    """One installation attempt of the verified container `full` (see module docstring).

    Never raises for board or link failures: they become RETRY (transient) or REFUSED
    (the board answered with an error). Raises BitstreamError/ValueError for a bad container or key.
    """
    image = prepare_image(full, device_key)
    sha = hashlib.sha256(image).digest()
    if not board.wait_ready(BOARD_WAIT_S):
        return InstallResult(Outcome.RETRY, "the board is not running", sha)
    restarts = board.restarts
    on_step(Step.FLASHING)
    try:
        report = flash(board.port, full, confirm=False, device_key=device_key, retries=flash_retries,
                       reset_timeout_s=reset_timeout_s, progress=_Notes(log))
    except RolledBackError as exc:
        if board.restarts != restarts:
            return InstallResult(Outcome.RETRY, f"the board lost power during the trial boot: {exc}", sha)
        return InstallResult(Outcome.ROLLED_BACK, f"the board refused to boot the new model: {exc}", sha)
    except TransportError as exc:
        return InstallResult(Outcome.RETRY, f"link to the board failed while flashing: {exc}", sha)
    except DeviceError as exc:
        if board.restarts != restarts:
            return InstallResult(Outcome.RETRY, f"the board restarted while flashing: {exc}", sha)
        return InstallResult(Outcome.REFUSED, f"the board refused the model: {exc}", sha)
    if report.confirmed:
        return InstallResult(Outcome.CONFIRMED, "the board already runs this model, confirmed", sha)
    on_step(Step.TESTING)
    try:
        healthy, detail, checked = _health(board.port, full)
        if not healthy:
            _reset(board.port)   # unconfirmed: the board boots its confirmed model again
            return InstallResult(Outcome.ROLLED_BACK, detail, sha, checked)
        flash(board.port, full, confirm=True, device_key=device_key, retries=flash_retries,
              reset_timeout_s=reset_timeout_s)
        active = _active(board.port)
    except (TransportError, DeviceError) as exc:
        return InstallResult(Outcome.RETRY, f"the board did not answer while testing or confirming: {exc}", sha)
    if active is None or active.hash != sha or not active.confirmed:
        return InstallResult(Outcome.RETRY, "after confirming, the board does not report the new model confirmed", sha)
    return InstallResult(Outcome.CONFIRMED, detail, sha, checked)
