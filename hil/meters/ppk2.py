"""Nordic Power Profiler Kit II over its USB CDC serial port.

The protocol, as Nordic's nRF Connect Power Profiler and the ppk2-api project use it
(implemented here from that description; no code copied):
* commands are raw bytes: an opcode and its argument bytes. Used here: GET_META_DATA 0x19,
  SET_POWER_MODE 0x11 (1 = ampere meter, 2 = source meter), REGULATOR_SET 0x0d (supply in mV,
  big-endian, 800..5000), DEVICE_RUNNING_SET 0x0c (1 = target powered, 0 = off),
  AVERAGE_START 0x06 / AVERAGE_STOP 0x07;
* GET_META_DATA answers ASCII "key: value" lines ending with "END": calibration per current
  range r = 0..4: R<r> (shunt, ohm), O<r> (offset), GS<r>, GI<r> (gain), S<r>, I<r>, UG<r>;
* while measuring, the kit streams 100,000 samples/s of 4 bytes, little-endian: bits 0-13 the
  ADC value, bits 14-16 the current range, bits 24-31 the digital inputs. Current in A:
      x = (adc * 4 - O[r]) * (1.8 / 163840) / R[r]
      i = UG[r] * (x * (GS[r] * x + GI[r]) + S[r] * vdd_V + I[r])
  (the kit's own spike filter at range switches is not applied).
Energy = sum(i) * supply voltage / 100,000.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import serial

from hil.errors import MeterError
from hil.meters.base import Acquisition, PowerMeter

GET_META_DATA = 0x19
SET_POWER_MODE = 0x11
REGULATOR_SET = 0x0D
DEVICE_RUNNING_SET = 0x0C
AVERAGE_START = 0x06
AVERAGE_STOP = 0x07
MODE_AMPERE, MODE_SOURCE = 1, 2
SAMPLE_RATE_HZ = 100_000
ADC_VOLTS_PER_COUNT = 1.8 / 163840
RANGES = 5
_CAL_KEYS = ("R", "O", "GS", "GI", "S", "I", "UG")
_DEFAULTS = {"R": (1031.64, 101.65, 10.15, 0.94, 0.043), "O": (0,) * 5, "GS": (1,) * 5, "GI": (1,) * 5,
             "S": (0,) * 5, "I": (0,) * 5, "UG": (1,) * 5}


def parse_metadata(text: str) -> dict[str, list[float]]:
    """Calibration tables from the GET_META_DATA text. Raises MeterError without "END"."""
    if "END" not in text:
        raise MeterError("PPK2 metadata did not end with END")
    cal = {key: list(map(float, values)) for key, values in _DEFAULTS.items()}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        name, digit = key[:-1], key[-1:]
        if name in _CAL_KEYS and digit.isdigit() and int(digit) < RANGES:
            try:
                number = float(value)
            except ValueError:
                raise MeterError(f"PPK2 metadata line {line!r} is not a number") from None
            if name == "R" and number == 0:
                continue  # some kits report a zero shunt for a range: keep the nominal value
            cal[name][int(digit)] = number
    return cal


def decode_samples(raw: bytes, cal: dict[str, list[float]], vdd_v: float) -> np.ndarray:
    """Currents (A) of the whole 4-byte samples in `raw` (a trailing part is ignored)."""
    words = np.frombuffer(raw[:len(raw) - len(raw) % 4], dtype="<u4")
    adc = (words & 0x3FFF).astype(np.float64)
    r = np.minimum((words >> 14) & 0x7, RANGES - 1)
    table = {key: np.asarray(values, dtype=np.float64)[r] for key, values in cal.items()}
    x = (adc * 4 - table["O"]) * ADC_VOLTS_PER_COUNT / table["R"]
    return table["UG"] * (x * (table["GS"] * x + table["GI"]) + table["S"] * vdd_v + table["I"])


class Ppk2Meter(PowerMeter):
    """A PPK2 at `port` (a pyserial URL works too). `source=True`: the kit supplies the target at
    `voltage_v` (source meter); else it measures in series (ampere meter) at `voltage_v`."""

    kind = "ppk2"

    def __init__(self, port: str, *, voltage_v: float = 3.3, source: bool = True, timeout_s: float = 3.0) -> None:
        if not 0.8 <= voltage_v <= 5.0:
            raise MeterError(f"PPK2 supply must be 0.8..5.0 V, not {voltage_v}")
        self.port_name = port
        self.voltage_v = voltage_v
        self.source = source
        self.timeout_s = timeout_s
        self._serial: serial.Serial | None = None
        self.calibration: dict[str, list[float]] | None = None
        self._reader: threading.Thread | None = None
        self._running = False
        self._raw = bytearray()

    def _write(self, *values: int) -> None:
        if self._serial is None:
            raise MeterError("PPK2 is not open")
        try:
            self._serial.write(bytes(values))
        except serial.SerialException as exc:
            raise MeterError(f"PPK2 {self.port_name}: {exc}") from exc

    def open(self) -> None:
        try:
            self._serial = serial.serial_for_url(self.port_name, baudrate=9600, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise MeterError(f"cannot open PPK2 at {self.port_name}: {exc}",
                             hint="is the kit connected (nRF Connect closed)?") from exc
        self._write(GET_META_DATA)
        text = b""
        deadline = time.monotonic() + self.timeout_s
        while b"END" not in text:
            if time.monotonic() > deadline:
                self.close()
                raise MeterError(f"no metadata from a PPK2 at {self.port_name} within {self.timeout_s} s")
            text += self._serial.read(256)
        self.calibration = parse_metadata(text.decode("ascii", errors="replace"))
        self._write(SET_POWER_MODE, MODE_SOURCE if self.source else MODE_AMPERE)
        mv = int(round(self.voltage_v * 1000))
        self._write(REGULATOR_SET, mv >> 8, mv & 0xFF)

    def close(self) -> None:
        if self._running:
            self._stop_reader()
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def power(self, on: bool) -> None:
        if not self.source:
            raise MeterError("PPK2 in ampere-meter mode does not supply the target")
        self._write(DEVICE_RUNNING_SET, 1 if on else 0)

    def _read_loop(self) -> None:
        assert self._serial is not None
        while self._running:
            try:
                chunk = self._serial.read(4096)
            except (serial.SerialException, OSError):
                break
            if chunk:
                self._raw += chunk

    def start(self) -> None:
        if self.calibration is None:
            raise MeterError("PPK2 is not open")
        self._serial.reset_input_buffer()
        self._raw = bytearray()
        self._write(AVERAGE_START)
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="ppk2-reader", daemon=True)
        self._reader.start()

    def _stop_reader(self) -> None:
        self._write(AVERAGE_STOP)
        time.sleep(0.05)  # samples already on the way
        self._running = False
        if self._reader is not None:
            self._reader.join(2.0)
            self._reader = None

    def stop(self) -> Acquisition:
        if not self._running:
            raise MeterError("PPK2: stop() without start()")
        self._stop_reader()
        currents = decode_samples(bytes(self._raw), self.calibration, self.voltage_v)
        if currents.size == 0:
            raise MeterError(f"PPK2 at {self.port_name} sent no samples")
        energy = float(currents.sum()) * self.voltage_v / SAMPLE_RATE_HZ
        return Acquisition(energy_j=energy, duration_s=len(currents) / SAMPLE_RATE_HZ, samples=len(currents),
                           meter=self.kind)
