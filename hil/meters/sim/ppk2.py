"""A simulated Nordic PPK2: the kit's serial protocol (hil/meters/ppk2.py describes it) on a pty.

It answers GET_META_DATA with calibration tables (deliberately not the nominal values, so a
driver that ignores them reads wrong currents), obeys the mode, supply and target-power
commands, and while measuring streams 100,000 samples/s that encode `current_a` (0 A while the
target is unpowered in source mode), choosing the current range as the kit would.
"""
from __future__ import annotations

import math

from hil.meters.ppk2 import (ADC_VOLTS_PER_COUNT, AVERAGE_START, AVERAGE_STOP, DEVICE_RUNNING_SET, GET_META_DATA,
                             MODE_SOURCE, REGULATOR_SET, SAMPLE_RATE_HZ, SET_POWER_MODE)
from hil.meters.sim.pty import PtyInstrument

#: Argument bytes of each opcode the simulator knows.
_ARGS = {GET_META_DATA: 0, SET_POWER_MODE: 1, REGULATOR_SET: 2, DEVICE_RUNNING_SET: 1, AVERAGE_START: 0,
         AVERAGE_STOP: 0}

CALIBRATION = {
    "R": (1024.5, 100.9, 10.07, 0.951, 0.0442),
    "O": (61.0, 54.0, 47.0, 40.0, 33.0),
    "GS": (0.0, 0.01, 0.002, 0.0004, 0.0),
    "GI": (1.01, 0.995, 1.003, 0.998, 1.0),
    "S": (0.0, 0.0, 0.0, 0.0, 0.0),
    "I": (0.0, 1e-7, 0.0, 0.0, 0.0),
    "UG": (1.0, 1.0, 1.0, 1.0, 1.0),
}


def metadata_text() -> str:
    lines = ["Calibrated: 0"]
    for key, values in CALIBRATION.items():
        lines += [f"{key}{r}: {v}" for r, v in enumerate(values)]
    lines += ["HW: 9173", "mode: 2", "IA: 56", "END", ""]
    return "\n".join(lines)


def encode_current(current_a: float, vdd_v: float) -> int:
    """The 32-bit sample word for `current_a`: the most sensitive range whose ADC holds it."""
    for r in range(5):
        c = CALIBRATION
        target = current_a / c["UG"][r] - c["S"][r] * vdd_v - c["I"][r]
        gs, gi = c["GS"][r], c["GI"][r]
        x = target / gi if gs == 0 else (-gi + math.sqrt(gi * gi + 4 * gs * target)) / (2 * gs)
        adc = round((x * c["R"][r] / ADC_VOLTS_PER_COUNT + c["O"][r]) / 4)
        if 0 <= adc <= 0x3FFF:
            return adc | (r << 14)
    raise ValueError(f"{current_a} A is outside the PPK2's ranges")


class SimulatedPpk2(PtyInstrument):
    """See module docstring. `commands` records every (opcode, args) received."""

    def __init__(self, current_a: float = 5e-3) -> None:
        super().__init__()
        self.current_a = current_a
        self.commands: list[tuple[int, bytes]] = []
        self.mode = 0
        self.vdd_mv = 0
        self.target_on = False
        self.measuring = False
        self.sent_samples = 0
        self._pending = b""
        self._since = 0.0
        self._carry = 0.0

    def received(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            opcode = self._pending[0]
            n = _ARGS.get(opcode, 0)
            if len(self._pending) < 1 + n:
                return
            args, self._pending = self._pending[1:1 + n], self._pending[1 + n:]
            self.commands.append((opcode, args))
            if opcode == GET_META_DATA:
                self.send(metadata_text().encode())
            elif opcode == SET_POWER_MODE:
                self.mode = args[0]
            elif opcode == REGULATOR_SET:
                self.vdd_mv = (args[0] << 8) | args[1]
            elif opcode == DEVICE_RUNNING_SET:
                self.target_on = args[0] == 1
            elif opcode == AVERAGE_START:
                self.measuring, self._since, self._carry = True, 0.0, 0.0
            elif opcode == AVERAGE_STOP:
                self.measuring = False

    def tick(self, now: float) -> None:
        if not self.measuring:
            return
        if self._since == 0.0:
            self._since = now
            return
        exact = (now - self._since) * SAMPLE_RATE_HZ + self._carry
        count = int(exact)
        self._carry, self._since = exact - count, now
        powered = self.target_on or self.mode != MODE_SOURCE
        word = encode_current(self.current_a if powered else 0.0, self.vdd_mv / 1000)
        if count:
            self.send(word.to_bytes(4, "little") * count)
            self.sent_samples += count
