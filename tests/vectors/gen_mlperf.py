"""Seed command streams for the MLPerf Tiny protocol fuzz target (tests/fuzz/fuzz_mlperf.c):
what the mlcommons/tiny runner sends, '%'-terminated, plus malformed commands."""
from __future__ import annotations

from pathlib import Path

SPEC = "docs/protocol.md (MLPerf Tiny text protocol)"

STREAMS = {
    "identify": b"name%profile%timestamp%help%",
    "load_and_infer": b"db load 40%db " + bytes(range(31)).hex().encode() + b"%db "
                      + bytes(range(31, 40)).hex().encode() + b"%db print%infer 2 1%results%",
    "errors": b"db%db load%db load 0%db load 999999999%db 0g%db 123%infer 0%infer 1 x%bogus%%",
    "print_ranges": b"db load 9%db 00112233445566778899%db print 4 6%db print 100 100%db print x%",
}


def generate(outdir: Path) -> list[str]:
    written = []
    for name, data in STREAMS.items():
        (outdir / f"{name}.bin").write_bytes(data)
        written.append(f"{name}.bin")
    return written
