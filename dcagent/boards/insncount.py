"""Instruction counts from the QEMU plugin's log (firmware/tools/qemu_insn_plugin.c).

The log has one "mark NEW PREV INSNS TOTAL" line per profiling-region switch (written as
they happen) and, once QEMU has exited, "region ID INSNS ENTRIES" lines and "total N".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dcagent.errors import BoardError

_HEADER = "dcagent-insn 1"


@dataclass(frozen=True)
class Mark:
    """One switch of profiling region: `insns` instructions ran in `previous` before it."""

    region: int
    previous: int
    insns: int
    total: int


@dataclass(frozen=True)
class RegionCount:
    """Instructions attributed to a region over the whole run, and how often it was entered."""

    insns: int
    entries: int


@dataclass(frozen=True)
class InstructionLog:
    """The plugin's log. `total` and `regions` are None/empty while QEMU still runs."""

    marks: list[Mark] = field(default_factory=list)
    regions: dict[int, RegionCount] = field(default_factory=dict)
    total: int | None = None

    def spans(self, region: int) -> list[int]:
        """Instruction counts of each completed visit of `region`, in order."""
        return [m.insns for m in self.marks if m.previous == region]


def parse_instruction_log(text: str) -> InstructionLog:
    """Parse the plugin's log text. Raises BoardError on a malformed line."""
    lines = text.splitlines()
    if not lines or lines[0] != _HEADER:
        raise BoardError(f"not an instruction-count log (first line {lines[:1]!r})")
    marks: list[Mark] = []
    regions: dict[int, RegionCount] = {}
    total = None
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        try:
            if fields[0] == "mark" and len(fields) == 5:
                marks.append(Mark(*(int(v) for v in fields[1:])))
            elif fields[0] == "region" and len(fields) == 4:
                regions[int(fields[1])] = RegionCount(int(fields[2]), int(fields[3]))
            elif fields[0] == "total" and len(fields) == 2:
                total = int(fields[1])
            else:
                raise ValueError(line)
        except (ValueError, IndexError):
            raise BoardError(f"instruction-count log line {number} is malformed: {line!r}") from None
    return InstructionLog(marks=marks, regions=regions, total=total)


def read_instruction_log(path: Path) -> InstructionLog:
    """Read and parse a plugin log file; a last line still being written is ignored."""
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return parse_instruction_log(text)
