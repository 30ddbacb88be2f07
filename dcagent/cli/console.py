"""Terminal output for the CLI: messages on stderr, results on stdout, honouring -q/-v."""
from __future__ import annotations

import sys

from rich.console import Console as RichConsole
from rich.table import Table


class Console:
    """Where every CLI message goes. Results (tables, JSON) go to stdout, the rest to stderr."""

    def __init__(self, *, quiet: bool = False, verbose: int = 0) -> None:
        self.quiet = quiet
        self.verbose = verbose
        # Not a terminal (a pipe, a file, a test): wide enough that tables are not truncated.
        wide = None if sys.stdout.isatty() else 160
        self.out = RichConsole(file=sys.stdout, highlight=False, soft_wrap=True, width=wide)
        self.err = RichConsole(file=sys.stderr, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message, markup=False)

    def debug(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.err.print(message, markup=False, style="dim")

    def error(self, message: str, *, hint: str | None = None) -> None:
        self.err.print(f"error: {message}", markup=False, style="bold red")
        if hint:
            self.err.print(f"hint: {hint}", markup=False)

    def exception(self, exc: BaseException) -> None:
        self.err.print_exception() if sys.exc_info()[0] else self.err.print(repr(exc))

    def table(self, title: str, columns: list[str], rows: list[list[object]]) -> None:
        """Print a result table on stdout (even with -q: results are what was asked for)."""
        table = Table(title=title)
        for index, col in enumerate(columns):
            table.add_column(col, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*[str(c) for c in row])
        self.out.print(table)

    def result(self, text: str) -> None:
        self.out.print(text, markup=False)
