"""Passive descriptions of boards (labgrid's "resources"): what a board is, not how to drive it.

A `BoardResource` names the board kind (which driver runs it), its clock, memory sizes, serial
port and energy profile. `BOARDS` holds the boards dcagent knows; a suite may define more
(`[[boards]]` tables, hil/suite.py) by overriding fields of a known one.

Energy profiles turn instruction (or cycle) counts into an ESTIMATE of energy per inference for
boards without a power meter: energy per cycle = run-mode current per MHz x supply voltage,
from the part's datasheet, and one instruction per cycle is assumed (docs/hil.md, "Energy
estimate"). Every report labels such energy as an estimate.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from hil.errors import SuiteError

#: Board kinds, each run by one driver (hil/drivers/).
KINDS = ("host", "native", "qemu", "serial")


@dataclass(frozen=True)
class EnergyProfile:
    """A part's run-mode current per MHz at a supply voltage, and where the number comes from."""

    part: str
    ua_per_mhz: float           # typical run-mode supply current per MHz of core clock (uA/MHz)
    voltage_v: float            # supply voltage the energy is computed at
    source: str                 # datasheet, table/section: the citation printed in every report
    instructions_per_cycle: float = 1.0  # assumed, not measured (QEMU models no pipeline)

    @property
    def nj_per_cycle(self) -> float:
        """Energy per core clock cycle in nanojoules: (uA/MHz = pA*s per cycle) x V."""
        return self.ua_per_mhz * self.voltage_v * 1e-3

    @property
    def nj_per_instruction(self) -> float:
        """Energy per instruction in nanojoules at the assumed instructions per cycle."""
        return self.nj_per_cycle / self.instructions_per_cycle

    def describe(self) -> str:
        """One line for reports: the numbers and the citation."""
        return (f"{self.part}: {self.ua_per_mhz:g} uA/MHz x {self.voltage_v:g} V = {self.nj_per_cycle:.3f} nJ/cycle, "
                f"{self.instructions_per_cycle:g} instruction/cycle assumed ({self.source})")


#: STM32L4R5 (Cortex-M4F, the MLPerf Tiny reference DUT on NUCLEO-L4R5ZI), used to model qemu-m4.
STM32L4R5 = EnergyProfile(
    part="STM32L4R5 (Cortex-M4F)", ua_per_mhz=110.0, voltage_v=3.3,
    source="ST DS12023 (STM32L4R5xx/L4S5xx datasheet), features: Run mode 110 uA/MHz (LDO); "
           "3.3 V is the MLPerf Tiny LPM01A supply")
#: STM32L552 (Cortex-M33), used to model qemu-m33.
STM32L552 = EnergyProfile(
    part="STM32L552 (Cortex-M33)", ua_per_mhz=106.0, voltage_v=3.3,
    source="ST DS12736 (STM32L552xx datasheet), features: Run mode 106 uA/MHz (LDO)")


@dataclass(frozen=True)
class BoardResource:
    """One board: enough for a driver to find and run it, and for reports to interpret counts.

    `kind`: "host" (the firmware's C runtime inside the host extension: same code, no device),
    "native" (the firmware as a host process on a pty), "qemu" (qemu-system-arm with the
    instruction-count plugin), "serial" (a real board on a serial port, flashed with PlatformIO).
    """

    name: str
    kind: str
    description: str = ""
    clock_hz: int | None = None          # core clock: turns instructions/cycles into milliseconds
    ram_bytes: int | None = None         # RAM available to data, stack and the arena
    flash_bytes: int | None = None       # storage for one model slot (the .dcb must fit)
    energy: EnergyProfile | None = None  # for the estimate when no meter is attached
    port: str | None = None              # serial port (kind "serial")
    baud: int = 115200
    machine: str | None = None           # dcagent.boards name ("qemu-m4", ...) for kind "qemu"
    kernels: str = "opt"                 # "opt" or "ref" (firmware KERNELS=..., docs/kernels.md)
    pio_env: str | None = None           # PlatformIO environment (kind "serial")
    pio_project: str | None = None       # PlatformIO project directory (default: firmware/)
    meter: str | None = None             # "ppk2:PORT", "lpm01a:PORT", "joulescope" (hil/meters)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SuiteError(f"board {self.name!r}: unknown kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.kernels not in ("opt", "ref"):
            raise SuiteError(f"board {self.name!r}: kernels must be 'opt' or 'ref', not {self.kernels!r}")
        if self.kind == "qemu" and self.machine is None:
            raise SuiteError(f"board {self.name!r}: a qemu board needs `machine` (qemu-m4, qemu-m7, qemu-m33)")

    @property
    def runtime_device(self) -> str:
        """The `host.runtime.Device` name the host sizes this board's arena for: "HOST" for the
        host and native boards (the build's own tables, reference kernels), "CORTEX_M" for a
        Cortex-M firmware with the reference kernels, "CORTEX_M_DSP" with the armv7em kernels
        (the default firmware of qemu-m4/m7/m33 and the Cortex-M4 PlatformIO environments)."""
        if self.kind in ("host", "native"):
            return "HOST"
        return "CORTEX_M_DSP" if self.kernels == "opt" else "CORTEX_M"

    @property
    def counts_instructions(self) -> bool:
        """True when the board gives exact instruction counts (the QEMU plugin)."""
        return self.kind == "qemu"


_MIB = 1024 * 1024
_SLOT = 0xF8000  # model slot on the simulated boards (docs/protocol.md, flash layout)

BOARDS: dict[str, BoardResource] = {
    b.name: b for b in (
        BoardResource("host", "host", "the firmware's C runtime in the host extension (no device, no counts)"),
        BoardResource("native", "native", "the firmware as a host process, UART on a pty",
                      ram_bytes=None, flash_bytes=_SLOT),
        BoardResource("qemu-m4", "qemu", "Cortex-M4F in QEMU mps2-an386 (modelled as STM32L4R5 for energy)",
                      clock_hz=25_000_000, ram_bytes=4 * _MIB, flash_bytes=_SLOT, energy=STM32L4R5, machine="qemu-m4"),
        BoardResource("qemu-m7", "qemu", "Cortex-M7 in QEMU mps2-an500 (no energy profile)",
                      clock_hz=25_000_000, ram_bytes=4 * _MIB, flash_bytes=_SLOT, machine="qemu-m7"),
        BoardResource("qemu-m33", "qemu", "Cortex-M33 in QEMU mps2-an505 (modelled as STM32L552 for energy)",
                      clock_hz=20_000_000, ram_bytes=4 * _MIB, flash_bytes=_SLOT, energy=STM32L552, machine="qemu-m33"),
        BoardResource("nucleo-l4r5zi", "serial", "ST NUCLEO-L4R5ZI (MLPerf Tiny reference DUT) over its ST-LINK VCP",
                      clock_hz=120_000_000, ram_bytes=640 * 1024, flash_bytes=2 * _MIB, energy=STM32L4R5,
                      port="/dev/ttyACM0", pio_env="nucleo_l4r5zi"),
    )
}


def board_resource(name: str, **overrides: object) -> BoardResource:
    """The known board `name`, with `overrides` applied; a new name needs `base=KNOWN` or `kind`.

    Raises SuiteError for an unknown board or field.
    """
    base = overrides.pop("base", None)
    start = BOARDS.get(str(base) if base is not None else name)
    if start is None and "kind" not in overrides:
        raise SuiteError(f"unknown board {name!r} (known: {', '.join(BOARDS)}); give `base` or `kind`")
    fields = set(BoardResource.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise SuiteError(f"board {name!r}: unknown field(s) {', '.join(unknown)}")
    if start is None:
        return BoardResource(name=name, **overrides)  # type: ignore[arg-type]
    return replace(start, name=name, **overrides)  # type: ignore[arg-type]
