"""A simulated ST X-NUCLEO-LPM01A: its ASCII command protocol (hil/meters/lpm01a.py) on a pty.

Answers "PowerShield > ack CMD [value]" or "PowerShield > error CMD" + "Error detail: ...",
checks argument ranges like the board, and while acquiring with `output energy` prints one
ascii_dec sample per sampling period: `current_a` x the set voltage x the period (0 while the
target supply is off), with a "TimeStamp" marker line every 100 samples.
"""
from __future__ import annotations

import math

from hil.meters.lpm01a import FREQUENCIES, PROMPT
from hil.meters.sim.pty import PtyInstrument


def format_ascii_dec(value: float) -> str:
    """6.409e-4 -> "6409-07" (4 digits, a signed 2-digit exponent)."""
    if value <= 0:
        return "0000+00"
    exponent = math.floor(math.log10(value)) - 3
    mantissa = round(value / 10.0 ** exponent)
    if mantissa >= 10000:
        mantissa, exponent = mantissa // 10, exponent + 1
    return f"{mantissa:04d}{exponent:+03d}"


class SimulatedLpm01a(PtyInstrument):
    """See module docstring. `log` records every command line received."""

    BOARD_ID = "540554545-1430736921-1900587"
    VERSION = "1.0.7"

    def __init__(self, current_a: float = 12e-3) -> None:
        super().__init__()
        self.current_a = current_a
        self.log: list[str] = []
        self.controlled = False
        self.voltage_mv = 3300
        self.frequency = "100"
        self.output = "current"
        self.format = "ascii_dec"
        self.powered = False
        self.acquiring = False
        self.sent_samples = 0
        self._line = b""
        self._since = 0.0
        self._carry = 0.0

    def _say(self, text: str) -> None:
        self.send((PROMPT + text + "\r\n").encode())

    def _ack(self, command: str, value: str = "") -> None:
        self._say(f"ack {command}" + (f" {value}" if value else ""))

    def _error(self, command: str, detail: str) -> None:
        self._say(f"error {command}")
        self._say(f"Error detail: {detail}")

    def received(self, data: bytes) -> None:
        self._line += data
        while b"\n" in self._line:
            raw, self._line = self._line.split(b"\n", 1)
            line = raw.decode("ascii", errors="replace").strip()
            if line:
                self.log.append(line)
                self._command(line)

    def _command(self, line: str) -> None:
        word, _, arg = line.partition(" ")
        if word == "stop":
            if self.acquiring:
                self.acquiring = False
                self.send(b"Acquisition completed\r\n")
            return
        if word in ("htc", "hrc"):
            self.controlled = word == "htc"
            return self._ack(line)
        if not self.controlled and word != "powershield":
            return self._error(line, "board not controlled by host (send htc)")
        if word == "powershield":
            return self._ack(line, f"PowerShield present {self.BOARD_ID}")
        if word == "version":
            return self._ack(line, self.VERSION)
        if word == "status":
            return self._ack(line, "ok")
        if word == "volt":
            try:
                mv = float(arg[:-1]) if arg.endswith("m") else float(arg) * 1000
            except ValueError:
                return self._error(line, "invalid value")
            if not 1800 <= mv <= 3300:
                return self._error(line, "value out of range [1800m; 3300m]")
            self.voltage_mv = int(mv)
            return self._ack(line)
        if word == "freq":
            if arg not in FREQUENCIES:
                return self._error(line, "invalid frequency")
            self.frequency = arg
            return self._ack(line)
        if word == "output" and arg in ("current", "energy"):
            self.output = arg
            return self._ack(line)
        if word == "format" and arg in ("ascii_dec", "bin_hexa"):
            self.format = arg
            return self._ack(line)
        if word in ("acqtime", "trigsrc", "trigdelay", "eventsrc", "lcd", "acqmode", "funcmode", "pwrend"):
            return self._ack(line)
        if word == "pwr":
            state = arg.split()[0] if arg else ""
            if state not in ("on", "off", "auto"):
                return self._error(line, "invalid value")
            self.powered = state == "on"
            return self._ack(line)
        if word == "start":
            if self.format != "ascii_dec":
                return self._error(line, "simulator: only ascii_dec")
            self.acquiring, self._since, self._carry = True, 0.0, 0.0
            return self._ack(line)
        return self._error(line, "unknown command")

    def tick(self, now: float) -> None:
        if not self.acquiring:
            return
        if self._since == 0.0:
            self._since = now
            return
        rate = FREQUENCIES[self.frequency]
        exact = (now - self._since) * rate + self._carry
        count = int(exact)
        self._carry, self._since = exact - count, now
        current = self.current_a if self.powered else 0.0
        value = current * self.voltage_mv / 1000 / rate if self.output == "energy" else current
        text = format_ascii_dec(value)
        lines = []
        for _ in range(count):
            self.sent_samples += 1
            lines.append(text)
            if self.sent_samples % 100 == 0:
                lines.append(f"TimeStamp: {self.sent_samples // rate:03d}s {self.sent_samples % rate:03d}ms, buff 00%")
        if lines:
            self.send(("\r\n".join(lines) + "\r\n").encode())
