"""Power meters behind one interface (`PowerMeter`), and the energy estimate for boards without one.

    create_meter("ppk2:/dev/ttyACM1")      # Nordic PPK2 (serial)
    create_meter("lpm01a:/dev/ttyACM2")    # ST X-NUCLEO-LPM01A (serial, ASCII)
    create_meter("joulescope")             # Joulescope via the joulescope package
Simulated instruments that speak the same protocols live in hil/meters/sim/.
"""
from __future__ import annotations

from hil.errors import MeterError
from hil.meters.base import Acquisition, PowerMeter
from hil.meters.estimate import EnergyEstimate, estimate_energy

METER_KINDS = ("ppk2", "lpm01a", "joulescope")


def create_meter(spec: str, *, voltage_v: float = 3.3) -> PowerMeter:
    """A meter from "KIND[:PORT]". Raises MeterError for an unknown kind or a missing port."""
    kind, _, port = spec.partition(":")
    if kind == "joulescope":
        from hil.meters.joulescope import JoulescopeMeter
        return JoulescopeMeter()
    if kind in ("ppk2", "lpm01a") and not port:
        raise MeterError(f"meter {kind} needs a port: {kind}:/dev/ttyACM0")
    if kind == "ppk2":
        from hil.meters.ppk2 import Ppk2Meter
        return Ppk2Meter(port, voltage_v=voltage_v)
    if kind == "lpm01a":
        from hil.meters.lpm01a import Lpm01aMeter
        return Lpm01aMeter(port, voltage_v=voltage_v)
    raise MeterError(f"unknown meter {kind!r}; known: {', '.join(METER_KINDS)}")


__all__ = ["Acquisition", "EnergyEstimate", "METER_KINDS", "MeterError", "PowerMeter", "create_meter",
           "estimate_energy"]
