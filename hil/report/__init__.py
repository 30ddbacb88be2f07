"""Run reports: results.json, JUnit XML, a self-contained HTML page with inline plots.

    paths = write_reports(run, out_dir)     # {"json": ..., "junit": ..., "html": ...}
"""
from __future__ import annotations

from pathlib import Path

from hil.report.html import write_html
from hil.report.junit import write_junit
from hil.report.results_json import write_json


def write_reports(run, out_dir: str | Path) -> dict[str, Path]:
    """Write the three reports into `out_dir` (created); return their paths. Each file is
    written to a temporary name and renamed into place."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {"json": write_json(run, out / "results.json"), "junit": write_junit(run, out / "junit.xml"),
            "html": write_html(run, out / "report.html")}


__all__ = ["write_reports"]
