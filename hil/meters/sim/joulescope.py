"""A simulated Joulescope at the level of the `joulescope` package's device API (open, close,
parameter_set, statistics_callback_register): a thread delivers statistics like the
instrument's (time range, energy accumulator) every `period_s`, integrating `current_a` x
`voltage_v` while the target is connected (`i_range` not "off"). Pass `lambda: sim` as the
JoulescopeMeter's `scan`.
"""
from __future__ import annotations

import threading
import time


class SimulatedJoulescope:
    """See module docstring. `parameters` holds what was set."""

    def __init__(self, current_a: float = 8e-3, voltage_v: float = 3.3, period_s: float = 0.02) -> None:
        self.current_a = current_a
        self.voltage_v = voltage_v
        self.period_s = period_s
        self.parameters: dict[str, object] = {}
        self.is_open = False
        self._callback = None
        self._thread: threading.Thread | None = None
        self._time = 0.0
        self._energy = 0.0

    def open(self) -> None:
        self.is_open = True
        self._thread = threading.Thread(target=self._run, name="sim-joulescope", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.is_open = False
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None

    def parameter_set(self, name: str, value: object) -> None:
        if not self.is_open:
            raise RuntimeError("device not open")
        self.parameters[name] = value

    def statistics_callback_register(self, callback, source: str = "sensor") -> None:
        self._callback = callback

    def _run(self) -> None:
        while self.is_open:
            time.sleep(self.period_s)
            connected = self.parameters.get("i_range", "auto") != "off"
            t0 = self._time
            self._time += self.period_s
            if connected:
                self._energy += self.current_a * self.voltage_v * self.period_s
            if self._callback is not None:
                self._callback({
                    "time": {"range": {"value": [t0, self._time], "units": "s"}},
                    "signals": {"current": {"µ": {"value": self.current_a if connected else 0.0, "units": "A"}}},
                    "accumulators": {"energy": {"value": self._energy, "units": "J"},
                                     "charge": {"value": self._energy / self.voltage_v, "units": "C"}},
                })
