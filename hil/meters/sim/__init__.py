"""Simulated instruments that speak the real protocols (shipped with the package, as labgrid
ships its fakes): a PPK2 and an LPM01A on a pseudo-terminal, a Joulescope at the level of the
`joulescope` package API (the instrument itself is USB, not serial).

    with SimulatedPpk2(current_a=5e-3) as sim:
        meter = Ppk2Meter(sim.port)
"""
from hil.meters.sim.joulescope import SimulatedJoulescope
from hil.meters.sim.lpm01a import SimulatedLpm01a
from hil.meters.sim.ppk2 import SimulatedPpk2

__all__ = ["SimulatedJoulescope", "SimulatedLpm01a", "SimulatedPpk2"]
