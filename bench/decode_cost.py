"""Exact decode cost of the level coder on a Cortex-M4 (qemu-m4): instructions per weight.

Encodes the weights of the four MLPerf Tiny models (int8, and re-quantized to 6 and 4 bits,
as bench/coder_bench.py does) with `host.coder`, writes the payloads into the board's flash
file, boots the firmware under QEMU with the instruction-count plugin and sends one
`bench decode OFFSET LEN COUNT` per tensor (firmware/app/bench_decode.c). The firmware
decodes each payload in place from flash, in slices of 256 levels, inside profiling region 2;
the plugin counts every instruction executed there (dc_levels_dec_init + dc_levels_read, the
decoder's whole cost, context initialisation included). The firmware's checksum of the
decoded levels must equal the host's, so a count is only reported for a correct decode.

    python bench/decode_cost.py [--models DIR] [--bits 8,6,4] [--board qemu-m4] [--markdown]
                                [--json OUT] [--effort N] [--syntax cabac|fast|auto]

Exit status: 0 when every tensor decoded correctly, 1 when one did not, 2 when the models,
the board or its tools are unavailable.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `bench`, `host`, `dcagent` importable
    sys.path.insert(0, str(ROOT))

from bench.coder_bench import DEFAULT_MODELS, load_cases, parse_bits  # noqa: E402
from host.errors import DcagentError  # noqa: E402

#: The firmware's profiling region of `bench decode` (firmware/app/bench_decode.h).
DECODE_REGION = 2
#: Flash size of the QEMU boards (docs/boards.md) and the largest col_stride the bench holds.
FLASH_SIZE = 2 * 1024 * 1024
BENCH_MAX_STRIDE = 4096
IO_TIMEOUT_S = 60.0

EXIT_OK, EXIT_WRONG, EXIT_UNAVAILABLE = 0, 1, 2


@dataclass
class CaseCost:
    """Decode cost of one model at one bit width."""

    model: str
    bits: int
    weights: int
    tensors: int
    payload_bytes: int
    instructions: int
    per_tensor: list[int] = field(default_factory=list)

    @property
    def per_weight(self) -> float:
        return self.instructions / self.weights


@dataclass
class Job:
    """One tensor to decode on the board."""

    case: int
    offset: int
    payload: bytes
    count: int
    hash: int


def checksum(levels: np.ndarray) -> int:
    """sum(uint32(level[i]) * (2i + 1)) mod 2^32: the firmware's order-sensitive checksum."""
    v = np.asarray(levels, dtype=np.int64).reshape(-1) & 0xFFFFFFFF
    odd = 2 * np.arange(v.size, dtype=np.int64) + 1
    return int(((v * (odd & 0xFFFFFFFF)) & 0xFFFFFFFF).sum() & 0xFFFFFFFF)


def plan(cases, effort: int | None, syntax: str = "cabac") -> tuple[list[CaseCost], list[list[Job]]]:
    """Encode every tensor and lay the payloads out in flash images (several if needed).

    Raises DcagentError when a tensor needs more column records than the firmware bench holds.
    """
    from host.coder import DEFAULT_EFFORT, encode_levels, payload_params, payload_syntax

    costs: list[CaseCost] = []
    images: list[list[Job]] = [[]]
    offset = 0
    for index, (name, _file, bits, tensors) in enumerate(cases):
        total = 0
        for rows in tensors:
            payload = encode_levels(rows, effort=DEFAULT_EFFORT if effort is None else effort, syntax=syntax)
            if payload_syntax(payload) == "cabac" and payload_params(payload).col_stride > BENCH_MAX_STRIDE:
                raise DcagentError(f"{name} {bits}-bit: col_stride above the bench's {BENCH_MAX_STRIDE}")
            total += len(payload)
            if offset + len(payload) > FLASH_SIZE:
                images.append([])
                offset = 0
            images[-1].append(Job(index, offset, payload, int(rows.size), checksum(rows)))
            offset = (offset + len(payload) + 7) // 8 * 8
        costs.append(CaseCost(name, bits, sum(int(t.size) for t in tensors), len(tensors), total, 0))
    return costs, images


def write_flash(path: Path, jobs: list[Job]) -> None:
    """The board's flash file: erased (0xFF) with each payload at its offset."""
    image = bytearray(b"\xff" * FLASH_SIZE)
    for job in jobs:
        image[job.offset:job.offset + len(job.payload)] = job.payload
    path.write_bytes(bytes(image))


def run_image(board_name: str, jobs: list[Job], costs: list[CaseCost]) -> None:
    """Boot the board on one flash image and decode each job, adding up region counts.

    Raises DcagentError (BoardError, or a wrong checksum / error answer from the firmware).
    """
    import serial

    from dcagent.boards import create_board
    from dcagent.errors import BoardError

    with tempfile.TemporaryDirectory(prefix="decode_cost") as tmp:
        state = Path(tmp)
        write_flash(state / "flash.bin", jobs)
        with create_board(board_name, state_dir=state) as board:
            port = board.port
            uart = serial.Serial(port, timeout=IO_TIMEOUT_S)
            try:
                seen = 0
                for job in jobs:
                    uart.write(f"bench decode {job.offset} {len(job.payload)} {job.count}\n".encode())
                    line = _read_line(uart)
                    want = f"bench decode n={job.count} status=DC_OK hash=0x{job.hash:08x}"
                    if line != want:
                        raise DcagentError(f"{costs[job.case].model} {costs[job.case].bits}-bit: firmware "
                                           f"answered {line!r}, expected {want!r}")
                    spans = board.instructions().spans(DECODE_REGION)
                    insns = sum(spans[seen:])
                    seen = len(spans)
                    costs[job.case].instructions += insns
                    costs[job.case].per_tensor.append(insns)
            finally:
                uart.close()
            if not isinstance(board.instructions().total, (int, type(None))):
                raise BoardError("unreadable instruction log")


def _read_line(uart) -> str:
    deadline = time.monotonic() + IO_TIMEOUT_S
    buf = b""
    while time.monotonic() < deadline:
        buf += uart.readline()
        if buf.endswith(b"\n"):
            return buf.decode(errors="replace").strip()
    raise DcagentError(f"no answer from the board within {IO_TIMEOUT_S:.0f} s (got {buf!r})")


def markdown(costs: list[CaseCost], board: str) -> str:
    """The results as a markdown table."""
    lines = [f"Decode cost on {board} (QEMU TCG plugin, exact instruction counts, whole decode "
             "incl. context set-up):", "",
             "| model | bits | weights | tensors | payload bytes | instructions | instructions/weight |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for c in costs:
        lines.append(f"| {c.model} | {c.bits} | {c.weights:,} | {c.tensors} | {c.payload_bytes:,} | "
                     f"{c.instructions:,} | {c.per_weight:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS,
                        help="folder with the four MLPerf Tiny .tflite models")
    parser.add_argument("--bits", type=parse_bits, default=[8, 6, 4], help="bit widths (default 8,6,4)")
    parser.add_argument("--board", default="qemu-m4", help="QEMU board (default qemu-m4)")
    parser.add_argument("--effort", type=int, default=None, help="encoder effort (default: the coder's)")
    parser.add_argument("--syntax", choices=("cabac", "fast", "auto"), default="cabac",
                        help="level syntax (default cabac; docs/coder.md section 10)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.models, args.bits)
        costs, images = plan(cases, args.effort, args.syntax)
    except DcagentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        for jobs in images:
            run_image(args.board, jobs, costs)
    except DcagentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        from dcagent.errors import BoardError
        return EXIT_UNAVAILABLE if isinstance(exc, BoardError) else EXIT_WRONG
    if args.markdown:
        sys.stdout.write(markdown(costs, args.board))
    else:
        for c in costs:
            print(f"{c.model:9s} {c.bits}-bit  {c.weights:8,d} weights  {c.payload_bytes:8,d} B  "
                  f"{c.instructions:12,d} instructions  {c.per_weight:7.1f} per weight")
    if args.json is not None:
        data = [dict(asdict(c), per_weight=c.per_weight) for c in costs]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, args.json)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
