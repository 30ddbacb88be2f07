"""ST X-NUCLEO-LPM01A (PowerShield) over its serial port, driven the way the MLPerf Tiny runner
drives it (mlcommons/tiny benchmark/runner, power_manager; ST UM2269; implemented here from
that description):
* one ASCII command per line; the board answers "PowerShield > ack <command> [value]" or
  "PowerShield > error <command>" followed by "PowerShield > Error detail: <text>";
* set-up: `htc` (host takes control), `volt <mV>m`, `freq 1k`, `acqtime inf`, `output energy`,
  `format ascii_dec`, `trigsrc sw`; `pwr on|off` switches the target supply; `start` begins
  an acquisition; `stop` ends it, and the board prints "Acquisition completed"; `hrc` gives
  control back;
* with `output energy` every sample is the energy (J) of one sampling period, in ascii_dec:
  4 digits, a sign and a 2-digit exponent ("6409-07" = 6409e-7), one or more per line;
  lines starting "TimeStamp" and "event" are markers.
Energy = sum of the samples; duration = samples / frequency.
"""
from __future__ import annotations

import re
import threading
import time

import serial

from hil.errors import MeterError
from hil.meters.base import Acquisition, PowerMeter

PROMPT = "PowerShield > "
SAMPLE = re.compile(r"(\d{4})([+-]\d{2})")
FREQUENCIES = {"100k": 100_000, "50k": 50_000, "20k": 20_000, "10k": 10_000, "5k": 5_000, "2k": 2_000,
               "1k": 1_000, "500": 500, "200": 200, "100": 100, "50": 50, "20": 20, "10": 10, "5": 5,
               "2": 2, "1": 1}


def parse_samples(line: str) -> list[float]:
    """The ascii_dec values of a data line ("6409-07" -> 6.409e-4)."""
    return [int(m.group(1)) * 10.0 ** int(m.group(2)) for m in SAMPLE.finditer(line)]


class Lpm01aMeter(PowerMeter):
    """An LPM01A at `port` (a pyserial URL works too), supplying the target at `voltage_v`."""

    kind = "lpm01a"

    def __init__(self, port: str, *, voltage_v: float = 3.3, frequency: str = "1k", baudrate: int = 3_686_400,
                 timeout_s: float = 3.0) -> None:
        if not 1.8 <= voltage_v <= 3.3:
            raise MeterError(f"LPM01A supply must be 1.8..3.3 V, not {voltage_v}")
        if frequency not in FREQUENCIES or FREQUENCIES[frequency] > 10_000:
            raise MeterError(f"LPM01A ascii_dec frequency must be one of 1..10k, not {frequency!r}")
        self.port_name = port
        self.voltage_v = voltage_v
        self.frequency = frequency
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self._serial: serial.Serial | None = None
        self._buffer = b""
        self.board_id = ""
        self.version = ""
        self._acquiring = False
        self._reader: threading.Thread | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()

    # ---- line I/O ----

    def _readline(self, deadline: float) -> str | None:
        assert self._serial is not None
        while b"\n" not in self._buffer:
            if time.monotonic() > deadline:
                return None
            try:
                self._buffer += self._serial.read(256)
            except (serial.SerialException, OSError) as exc:
                raise MeterError(f"LPM01A {self.port_name}: {exc}") from exc
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("ascii", errors="replace").strip("\r")

    def command(self, command: str) -> str:
        """Send `command`, wait for its ack; return the value after it (may be empty).

        Raises MeterError with the board's error detail, or when no answer comes in time."""
        if self._serial is None:
            raise MeterError("LPM01A is not open")
        self._serial.write(command.encode("ascii") + b"\r\n")
        deadline = time.monotonic() + self.timeout_s
        while True:
            line = self._readline(deadline)
            if line is None:
                raise MeterError(f"LPM01A: no answer to {command!r} within {self.timeout_s} s")
            text = line.replace(PROMPT, "").strip()
            if text.startswith("ack") and command in text:
                return text[text.index(command) + len(command):].strip()
            if text.startswith("error") and command in text:
                detail = ""
                follow = self._readline(time.monotonic() + self.timeout_s)
                if follow is not None and "Error detail" in follow:
                    detail = follow.split("Error detail:", 1)[1].strip()
                raise MeterError(f"LPM01A refused {command!r}: {detail or 'error'}")

    # ---- PowerMeter ----

    def open(self) -> None:
        try:
            self._serial = serial.serial_for_url(self.port_name, baudrate=self.baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise MeterError(f"cannot open LPM01A at {self.port_name}: {exc}") from exc
        try:
            self.command("htc")
            self.board_id = self.command("powershield")
            self.version = self.command("version")
            self.command("pwr off")
            self.command("acqtime inf")
            self.command("trigsrc sw")
            self.command("output energy")
            self.command("format ascii_dec")
            self.command(f"freq {self.frequency}")
            self.command(f"volt {int(round(self.voltage_v * 1000))}m")
        except MeterError:
            self.close()
            raise

    def close(self) -> None:
        if self._serial is None:
            return
        try:
            if self._acquiring:
                self.stop()
            self.command("hrc")
        except MeterError:
            pass
        finally:
            self._serial.close()
            self._serial = None

    def power(self, on: bool) -> None:
        self.command("pwr on nostatus" if on else "pwr off")

    def _read_loop(self) -> None:
        while self._acquiring:
            try:
                line = self._readline(time.monotonic() + 0.1)
            except MeterError:
                break
            if line is not None:
                with self._lock:
                    self._lines.append(line)

    def start(self) -> None:
        self.command("start")
        self._lines = []
        self._acquiring = True
        self._reader = threading.Thread(target=self._read_loop, name="lpm01a-reader", daemon=True)
        self._reader.start()

    def stop(self) -> Acquisition:
        if not self._acquiring:
            raise MeterError("LPM01A: stop() without start()")
        assert self._serial is not None
        self._serial.write(b"stop\r\n")
        deadline = time.monotonic() + self.timeout_s
        while True:
            with self._lock:
                done = any("Acquisition completed" in line for line in self._lines)
            if done:
                break
            if time.monotonic() > deadline or (self._reader is not None and not self._reader.is_alive()):
                self._acquiring = False
                raise MeterError(f"LPM01A: no 'Acquisition completed' within {self.timeout_s} s of stop")
            time.sleep(0.01)
        self._acquiring = False
        if self._reader is not None:
            self._reader.join(1.0)
        samples: list[float] = []
        with self._lock:
            for line in self._lines:
                text = line.replace(PROMPT, "").strip()
                if text.startswith(("TimeStamp", "event", "ack", "error", "Acquisition", "Error")):
                    continue
                samples.extend(parse_samples(text))
        if not samples:
            raise MeterError(f"LPM01A at {self.port_name} sent no samples")
        rate = FREQUENCIES[self.frequency]
        return Acquisition(energy_j=sum(samples), duration_s=len(samples) / rate, samples=len(samples),
                           meter=self.kind)
