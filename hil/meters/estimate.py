"""Energy ESTIMATE for boards without a meter: measured instructions (or cycles) x the board's
energy per instruction (or cycle) from its datasheet (hil/resources.py EnergyProfile).

It is an estimate in every report: the datasheet's typical run-mode current, a supply
voltage, one instruction per cycle assumed (QEMU counts instructions; real cores stall on
flash wait states, multi-cycle multiplies and loads), no peripherals, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass

from hil.resources import EnergyProfile


@dataclass(frozen=True)
class EnergyEstimate:
    """Joules per inference, and how they were obtained (always an estimate)."""

    joules: float
    basis: str          # "instructions" or "cycles"
    count: float        # the mean count it was computed from
    profile: EnergyProfile

    @property
    def label(self) -> str:
        return f"ESTIMATE ({self.basis} x datasheet energy; {self.profile.describe()})"


def estimate_energy(profile: EnergyProfile, *, instructions: float | None = None,
                    cycles: float | None = None) -> EnergyEstimate | None:
    """The estimate from cycles when known (real boards), else from instructions; None when neither."""
    if cycles:
        return EnergyEstimate(cycles * profile.nj_per_cycle * 1e-9, "cycles", cycles, profile)
    if instructions:
        return EnergyEstimate(instructions * profile.nj_per_instruction * 1e-9, "instructions", instructions, profile)
    return None
