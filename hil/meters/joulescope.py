"""Joulescope (JS110/JS220) through the `joulescope` package (imported only when used; it needs
numpy >= 2.2; `pip install joulescope`).

The driver opens the one connected instrument (`joulescope.scan_require_one(config="auto")`),
registers a statistics callback (`device.statistics_callback_register(cb, "sensor")`) and
reads the instrument's own energy accumulator (`stats["accumulators"]["energy"]["value"]`, J)
and time (`stats["time"]["range"]["value"]`, s): the energy of an acquisition is the
difference between the first statistics update after start() and the first after stop().
The resolution is therefore one statistics period (0.5 s by default: `reduction_frequency`
raises the rate), so acquisitions should last seconds (many inferences). The target's supply
is switched with the current range: `i_range` "off" disconnects it, "auto" connects it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from hil.errors import MeterError
from hil.meters.base import Acquisition, PowerMeter


def _default_scan():
    try:
        import joulescope  # noqa: PLC0415 - optional, heavy
    except ImportError as exc:
        raise MeterError("the joulescope package is not installed", hint="pip install joulescope") from exc
    try:
        return joulescope.scan_require_one(config="auto")
    except Exception as exc:  # noqa: BLE001 - the package raises RuntimeError and its own types
        raise MeterError(f"no Joulescope found: {exc}") from exc


class JoulescopeMeter(PowerMeter):
    """See module docstring. `scan` returns an (unopened) device; tests pass a simulated one."""

    kind = "joulescope"

    def __init__(self, *, scan: Callable[[], object] | None = None, reduction_frequency: float | None = None,
                 timeout_s: float = 3.0) -> None:
        self._scan = scan or _default_scan
        self.reduction_frequency = reduction_frequency
        self.timeout_s = timeout_s
        self._device = None
        self._cond = threading.Condition()
        self._latest: tuple[int, float, float] | None = None  # (update number, time s, energy J)
        self._updates = 0
        self._started: tuple[float, float] | None = None

    def _on_statistics(self, stats: dict) -> None:
        try:
            energy = float(stats["accumulators"]["energy"]["value"])
            span = stats["time"]["range"]["value"]
            when = float(span[1] if isinstance(span, (list, tuple)) else span)
        except (KeyError, TypeError, ValueError, IndexError):
            return  # not an update we can read; the next one will do
        with self._cond:
            self._updates += 1
            self._latest = (self._updates, when, energy)
            self._cond.notify_all()

    def _next_update(self) -> tuple[float, float]:
        """(time, energy) of the first statistics update after this call."""
        with self._cond:
            seen = self._updates
            if not self._cond.wait_for(lambda: self._updates > seen, timeout=self.timeout_s):
                raise MeterError(f"Joulescope sent no statistics within {self.timeout_s} s")
            assert self._latest is not None
            return self._latest[1], self._latest[2]

    def open(self) -> None:
        device = self._scan()
        try:
            device.open()
            if self.reduction_frequency is not None:
                device.parameter_set("reduction_frequency", self.reduction_frequency)
            device.statistics_callback_register(self._on_statistics, "sensor")
            device.parameter_set("sensor_power", "on")
            device.parameter_set("i_range", "auto")
        except MeterError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise MeterError(f"cannot configure the Joulescope: {exc}") from exc
        self._device = device

    def close(self) -> None:
        if self._device is not None:
            try:
                self._device.close()
            finally:
                self._device = None

    def power(self, on: bool) -> None:
        if self._device is None:
            raise MeterError("Joulescope is not open")
        self._device.parameter_set("i_range", "auto" if on else "off")

    def start(self) -> None:
        if self._device is None:
            raise MeterError("Joulescope is not open")
        self._started = self._next_update()

    def stop(self) -> Acquisition:
        if self._started is None:
            raise MeterError("Joulescope: stop() without start()")
        t1, e1 = self._next_update()
        t0, e0 = self._started
        self._started = None
        return Acquisition(energy_j=e1 - e0, duration_s=t1 - t0, samples=0, meter=self.kind)
