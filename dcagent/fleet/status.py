"""Status telemetry: a device reports its update state, retained, at `.../devices/{id}/status`.

Progress messages are rate-limited (at most one per `interval` seconds) and sent without
waiting; state changes are always sent, final ones (verified, confirmed, rolled_back,
rejected, failed) wait for the PUBACK so they are not lost when the process exits next.
"""
from __future__ import annotations

import time

from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.errors import BrokerError
from dcagent.fleet.messages import Manifest, RejectReason, State, Status

FINAL_STATES = {State.VERIFIED, State.CONFIRMED, State.ROLLED_BACK, State.REJECTED, State.FAILED}


class StatusReporter:
    """Publishes the `Status` of one device through `client` (None: keep the last status only)."""

    def __init__(self, client: BrokerClient | None, device_id: str, *, interval: float = 1.0) -> None:
        self.client = client
        self.device_id = topics.check_name(device_id, "device id")
        self.topic = topics.status(device_id)
        self.interval = interval
        self.last: Status | None = None
        self.sent = 0
        self._last_time = 0.0

    def report(self, state: State, *, manifest: Manifest | None = None, reason: RejectReason | None = None,
               detail: str = "", received: int = 0, total: int | None = None) -> Status:
        """Build and publish a status. Never raises for a broker failure (telemetry is best
        effort: the typed error of the operation itself is what the caller acts on)."""
        status = Status(device_id=self.device_id, state=state, time_ms=int(time.time() * 1000), reason=reason,
                        detail=detail, model_name=manifest.model_name if manifest else None,
                        model_version=manifest.model_version if manifest else None,
                        stream_id=manifest.stream_id if manifest else None, received=received,
                        total=(manifest.size if manifest else 0) if total is None else total)
        now = time.monotonic()
        progress_only = self.last is not None and self.last.state == state and state == State.DOWNLOADING
        if progress_only and now - self._last_time < self.interval and received != status.total:
            return status
        self.last = status
        self._last_time = now
        if self.client is not None:
            try:
                self.client.publish(self.topic, status.to_cbor(), qos=1, retain=True,
                                    wait=state in FINAL_STATES and self.client.connected, timeout=5.0)
                self.sent += 1
            except BrokerError:
                pass
        return status
