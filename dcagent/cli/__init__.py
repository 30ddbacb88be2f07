"""The `dcagent` command line: one module per subcommand, errors mapped to exit codes here only.

Each subcommand module in `dcagent.cli` exposes `register(subparsers)`, which adds its parser
and sets `func` (a callable taking the parsed arguments and a `Console`, returning an exit
code). Add a subcommand by adding a module and naming it in `SUBCOMMANDS`.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from dcagent import __version__
from dcagent.cli.console import Console
from dcagent.cli.exit_codes import exit_code_for

SUBCOMMANDS = ["keygen", "compress", "inspect", "verify", "decode_levels", "board", "provision", "flash", "state",
               "infer"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcagent",
        description="Compress neural networks for microcontrollers, deliver them, measure them.",
    )
    parser.add_argument("--version", action="version", version=f"dcagent {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    verbosity.add_argument("-v", "--verbose", action="count", default=0, help="say more (repeatable)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"dcagent.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dcagent.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(quiet=args.quiet, verbose=args.verbose)
    try:
        return int(args.func(args, console) or 0)
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
        code = exit_code_for(exc)
        if code is None:
            raise
        console.error(str(exc), hint=getattr(exc, "hint", None))
        if args.verbose:
            console.exception(exc)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
