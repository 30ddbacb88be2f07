"""JUnit XML: one <testsuite> per run, one <testcase> per model@board (classname = model,
name = board). Threshold and regression violations are <failure>s; a case that could not run
is an <error> with the board's log in <system-out>."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from hil.report.files import write_text_atomic


def _summary(case) -> str:
    m = case.metrics
    parts = [f"samples={m.samples}"]
    if m.accuracy is not None:
        parts.append(f"accuracy={m.accuracy:.4f}")
    if m.instructions is not None:
        parts.append(f"instructions={m.instructions:.0f}")
    if m.latency_ms is not None:
        parts.append(f"latency_ms={m.latency_ms:.4f} ({m.latency_basis})")
    if m.energy_uj is not None:
        parts.append(f"energy_uj={m.energy_uj:.4f} ({'ESTIMATE' if m.energy_source == 'estimate' else m.energy_source})")
    if m.arena_bytes is not None:
        parts.append(f"arena_bytes={m.arena_bytes}")
    if m.bitstream_bytes is not None:
        parts.append(f"bitstream_bytes={m.bitstream_bytes}")
    return " ".join(parts)


def junit_tree(run) -> ET.ElementTree:
    counts = run.counts()
    suite = ET.Element("testsuite", name=run.suite, tests=str(len(run.cases)), failures=str(counts["failed"]),
                       errors=str(counts["error"]), skipped="0", time=f"{run.duration_s:.3f}", timestamp=run.started)
    props = ET.SubElement(suite, "properties")
    for key, value in run.environment.items():
        ET.SubElement(props, "property", name=key, value=str(value))
    for case in run.cases:
        element = ET.SubElement(suite, "testcase", classname=case.model, name=case.board, time=f"{case.duration_s:.3f}")
        if case.status == "failed":
            failure = ET.SubElement(element, "failure", message="; ".join(v.message for v in case.violations),
                                    type="regression" if any(v.kind == "regression" for v in case.violations)
                                    else "threshold")
            failure.text = "\n".join(f"{v.kind}: {v.message}" for v in case.violations)
        elif case.status == "error":
            error = ET.SubElement(element, "error", message=case.error.splitlines()[0] if case.error else "error",
                                  type="board")
            error.text = case.error
        ET.SubElement(element, "system-out").text = _summary(case) + ("\n\n" + case.log if case.log else "")
    return ET.ElementTree(suite)


def write_junit(run, path: Path) -> Path:
    tree = junit_tree(run)
    ET.indent(tree)
    return write_text_atomic(path, ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True) + "\n")
