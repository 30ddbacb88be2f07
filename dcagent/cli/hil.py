"""`dcagent hil run SUITE.toml [--board B ...] [-o DIR] [--update-baseline]`: run a
hardware-in-the-loop suite (docs/hil.md) with a live progress display; write results.json,
junit.xml and report.html into DIR. Exit 0 when every case passed, 1 when a case failed or
could not run, 5 when the suite itself is malformed.

The harness (`hil`) is imported inside `run` only: dcagent never imports hil at import time.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.exit_codes import GOAL_NOT_MET, SUCCESS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hil", help="run hardware-in-the-loop measurement suites")
    actions = parser.add_subparsers(dest="hil_command", metavar="ACTION")
    actions.required = True
    run_parser = actions.add_parser("run", help="run a suite (models x boards x data)")
    run_parser.add_argument("suite", type=Path, metavar="SUITE.toml")
    run_parser.add_argument("--board", action="append", default=None, metavar="NAME",
                            help="run only this board of the suite (repeatable)")
    run_parser.add_argument("-o", "--output", type=Path, default=Path("hil-results"), metavar="DIR",
                            help="where results.json, junit.xml and report.html go (default: hil-results)")
    run_parser.add_argument("--update-baseline", action="store_true",
                            help="write this run's measurements as the suite's baseline (regressions not checked)")
    run_parser.set_defaults(func=run)


class _LiveProgress:
    """A rich live table: one row per case, its current step and sample count."""

    def __init__(self, console: Console, cases: list) -> None:
        self.console = console
        self.rows = {case.key: ["queued", ""] for case in cases}
        self.live = None

    def _table(self):
        from rich.table import Table
        table = Table(title="hil", expand=False)
        for column in ("case", "state", "progress"):
            table.add_column(column)
        colours = {"passed": "green", "failed": "red", "error": "yellow"}
        for key, (state, detail) in self.rows.items():
            style = colours.get(state.split()[0], "")
            table.add_row(key, f"[{style}]{state}[/]" if style else state, detail)
        return table

    def __enter__(self):
        from rich.live import Live
        if getattr(self.console, "quiet", False):
            return self
        self.live = Live(self._table(), console=self.console.err, refresh_per_second=8, transient=False)
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def _update(self) -> None:
        if self.live is not None:
            self.live.update(self._table())

    def case_started(self, case, index, total) -> None:
        self.rows[case.key] = [f"starting ({index + 1}/{total})", ""]
        self._update()

    def step(self, case, name) -> None:
        self.rows[case.key][0] = name
        self._update()

    def sample(self, case, done, total) -> None:
        self.rows[case.key][1] = f"{done}/{total} samples"
        self._update()

    def case_finished(self, case, result) -> None:
        m = result.metrics
        detail = f"{m.samples} samples"
        if m.accuracy is not None:
            detail += f", acc {m.accuracy:.2%}"
        if m.instructions is not None:
            detail += f", {m.instructions:,.0f} insn"
        self.rows[case.key] = [result.status, detail]
        self._update()


def run(args: argparse.Namespace, console: Console) -> int:
    from hil.report import write_reports  # noqa: PLC0415 - dcagent imports hil only here
    from hil.runner import run_suite
    from hil.suite import load_suite

    suite = load_suite(args.suite)
    cases = suite.cases(args.board)
    with _LiveProgress(console, cases) as progress:
        result = run_suite(suite, boards=args.board, update_baseline=args.update_baseline, progress=progress)
    paths = write_reports(result, args.output)
    rows = []
    for case in result.cases:
        m = case.metrics
        why = case.error.splitlines()[0][:90] if case.error else "; ".join(v.message for v in case.violations)[:90]
        rows.append([case.key, case.status, "" if m.accuracy is None else f"{m.accuracy:.2%}",
                     "" if m.instructions is None else f"{m.instructions:,.0f}",
                     "" if m.latency_ms is None else f"{m.latency_ms:.2f}" + ("*" if m.latency_basis.startswith("ESTIMATE") else ""),
                     "" if m.energy_uj is None else f"{m.energy_uj:.1f}" + ("*" if m.energy_source == "estimate" else ""),
                     why])
    console.table(f"{result.suite}: {result.counts()}", ["case", "status", "accuracy", "instructions", "ms", "uJ", "why"],
                  rows)
    if any(case.metrics.energy_source == "estimate" or case.metrics.latency_basis.startswith("ESTIMATE")
           for case in result.cases):
        console.info("* ESTIMATE: from instruction counts at the board clock and datasheet energy (docs/hil.md)")
    if result.baseline_updated:
        console.info(f"baseline written: {result.baseline}")
    console.info(f"reports: {paths['json']}, {paths['junit']}, {paths['html']}")
    return SUCCESS if result.ok else GOAL_NOT_MET
