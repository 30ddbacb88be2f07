"""The device half of `dcagent demo`: deliver the signed .dcb through the fleet path to an
emulated board and measure it there with the hardware-in-the-loop harness.

    local mosquitto (users, ACLs) <- publisher: retained manifest + block stream of the .dcb
    `dcagent agent --port PTY` (a process, as on a gateway): download, verify the signature and
        hash, add the board's HMAC tag, SMP upload, trial boot, check inference, confirm
    hil: accuracy and bit-exactness on the board, exact instruction counts (QEMU plugin),
        latency and energy ESTIMATES from them, arena, flash; results.json, junit.xml, report.html

The harness (`hil`) is imported inside the functions only: dcagent never imports hil at import time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcagent.cli.console import Console


@dataclass(frozen=True)
class DeviceRun:
    """What the board measured (a hil CaseResult) and where the reports went."""

    case: object            # hil.results.CaseResult
    reports: dict[str, Path]
    samples: int

    @property
    def ok(self) -> bool:
        return self.case.status == "passed"


def deliver_and_measure(dcb: Path, data: Path, board: str, *, samples: int, workdir: Path, publisher_key: Path,
                        console: Console) -> DeviceRun:
    """Publish `dcb` to a private broker, let an agent process flash it onto `board`, run
    `samples` inputs of `data` there (0 = all) and write the HIL reports into workdir/hil.

    Never raises for a board or delivery failure (the case result says what happened); raises
    SuiteError for an unknown board.
    """
    from dcagent.cli.hil import _LiveProgress  # noqa: PLC0415
    from hil.report import write_reports  # noqa: PLC0415 - dcagent imports hil only here
    from hil.runner import run_suite  # noqa: PLC0415
    from hil.suite import Thresholds, one_case_suite  # noqa: PLC0415

    # The device runs the same int8 model as the host runtime: no accuracy may be lost there.
    suite = one_case_suite(dcb.stem, dcb, data, board, samples=samples, delivery="mqtt",
                           thresholds=Thresholds(accuracy_drop=0.0),
                           step_timeouts={"load_model": 180.0, "infer": 30.0},
                           work_dir=workdir / "delivery", publisher_key=publisher_key)
    with _LiveProgress(console, suite.cases()) as progress:
        result = run_suite(suite, progress=progress)
    reports = write_reports(result, workdir / "hil")
    case = result.cases[0]
    return DeviceRun(case=case, reports=reports, samples=case.metrics.samples)


def summary_rows(run: DeviceRun, *, float_bytes: int, dcb_bytes: int, original_accuracy: float,
                 host_accuracy: float, board: str) -> list[list[str]]:
    """The main job's summary table (measure, value, basis): size vs float, accuracy on the
    device vs the original, instructions, estimated latency and energy, RAM and flash."""
    m = run.case.metrics
    rows = [
        ["size (.dcb, signed)", f"{dcb_bytes:,} B", f"{float_bytes / dcb_bytes:.1f}x smaller than the float32 "
                                                    f".tflite ({float_bytes:,} B)"],
        ["accuracy: original", f"{original_accuracy:.2f}%", f"float32 model on the host, the board's {m.samples} samples"],
        ["accuracy: compressed", f"{host_accuracy:.2f}%", "the .dcb in the host runtime (same C code)"],
        [f"accuracy: on {board}", "n/a" if m.accuracy is None else f"{100 * m.accuracy:.2f}%",
         f"outputs bit-exact with the host: {m.exact_outputs}/{m.samples}"],
    ]
    if m.instructions is not None:
        rows.append(["instructions / inference", f"{m.instructions:,.0f}", "exact (QEMU instruction-count plugin)"])
    if m.latency_ms is not None:
        basis = m.latency_basis.replace("ESTIMATE: instructions at", "ESTIMATE at").replace(
            "1 instruction per cycle assumed", "1 instruction/cycle")
        rows.append(["latency / inference", f"{m.latency_ms:.2f} ms", basis])
    if m.energy_uj is not None:
        basis = m.energy_label
        if m.energy_source == "estimate" and "; " in basis:   # "ESTIMATE (...; PART: uA/MHz x V = nJ/cycle, ...)"
            basis = "ESTIMATE: " + basis.split("; ", 1)[1].split(", ")[0]
        rows.append(["energy / inference", f"{m.energy_uj:.1f} uJ", basis])
    if m.arena_bytes is not None:
        rows.append(["RAM: tensor arena", f"{m.arena_bytes:,} B", f"as reported by the {m.arena_source}"])
    if m.flash_bytes is not None:
        rows.append(["flash", f"{m.flash_bytes:,} B",
                     f"firmware {m.firmware_flash_bytes:,} B + model {m.bitstream_bytes:,} B"])
    delivered = next((n for n in run.case.notes if n.startswith("delivered over MQTT")), None)
    if delivered:
        states = delivered.split(": ", 1)[-1]
        final, _, seconds = states.rpartition(" in ")
        rows.append(["delivery", seconds, f"mosquitto > agent > SMP: {final.split(' > ')[-1]}"])
    return rows
