"""RAM against time for the runtime's three decode modes, the four MLPerf Tiny int8 models on QEMU Cortex-M4.

    python bench/decode_modes_bench.py [--models DIR] [--board qemu-m4] [--channels 8] [--sweep 2,4,16]
                                       [--readme] [--json OUT]

Each model is packed losslessly, delivered over SMP to one board (optimized DSP kernels) and, for each
mode, reloaded with the console's `decode` command (firmware/app/runtime_adapter.h): AT_LOAD (every weight
decoded at load), PER_LAYER (each op's weights decoded before it runs), STREAMED (CONV_2D and
FULLY_CONNECTED weights decoded `--channels` output channels at a time, the kernel run per chunk; and
STREAMED again for each chunk size of `--sweep`).
Per mode: the arena the device needs (its `model` line: persistent tables, decoder, kernel scratch and
the planned region, exactly what dc_model_load asked for), the host runtime's arena_size (reference
kernels: no kernel scratch; 64-bit tables), the exact instructions of one dc_model_invoke from the QEMU
plugin (decoding included in PER_LAYER and STREAMED), and the output checked with `==` against the host
reference interpreter. TFLite Micro's arena (CMSIS-NN build, `arena_used_bytes`, shared models README)
beside them.
Like for like with TFLite Micro (which reads its int8 weights in place from flash): each model is packed again
with `codec="raw"` (the same int8 weights stored uncompressed, read in place from the container where a kernel
can) and measured the same way in every mode; its least arena is the figure to hold against TFLite Micro's.
Exit status 0, or 1 when an output differs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dcagent.boards import QemuBoard  # noqa: E402
from dcagent.link import console_command, console_model, flash, infer, provision  # noqa: E402
from host.container.hmac_tag import add_device_tag  # noqa: E402
from host.model_format import pack  # noqa: E402
from host.reference import run as reference_run  # noqa: E402
from host.runtime import DecodeMode, arena_size  # noqa: E402
from host.tflite import read_model  # noqa: E402

# The same four models and TFLite Micro arenas as the inference bench (one list for both).
from bench.inference_bench import DEFAULT_MODELS, MODELS, TFLM_ARENA, wait_spans  # noqa: E402,F401
from bench.readme import replace_section  # noqa: E402

MODES = [("at_load", DecodeMode.AT_LOAD), ("per_layer", DecodeMode.PER_LAYER), ("streamed", DecodeMode.STREAMED)]
KEY = hashlib.sha256(b"dcagent decode modes bench device key").digest()
SECTION = "## Decode modes: RAM against time"


@dataclass
class ModeRun:
    model: str
    codec: str  # "lossless" (pack's default coder choice) or "raw" (weights uncompressed, like TFLite Micro's)
    container_bytes: int
    mode: str
    channels: int  # STREAMED chunk (the others ignore it)
    arena_device: int
    scratch_device: int
    arena_host: int
    instructions: int
    equal: bool
    detail: str


def measure(models_dir: Path, board_name: str, channels: int, sweep: tuple[int, ...] = ()) -> list[ModeRun]:
    """Every model in every mode on one board, lossless and raw. Raises BoardError, DeviceError, TransportError."""
    results = []
    with tempfile.TemporaryDirectory() as state, QemuBoard(board_name, state_dir=state) as board:
        provision(board.port, KEY)
        seen = 0
        version = 0
        for index, (label, stem) in enumerate(MODELS, start=1):
            graph = read_model((models_dir / f"{stem}.tflite").read_bytes())
            (spec,) = graph.input_tensors()
            x = np.random.default_rng(index).integers(-128, 128, size=(1, *spec.shape), dtype=np.int8)
            (expected,) = reference_run(graph, [x[0]])
            for codec in ("lossless", "raw"):
                version += 1
                container = pack(graph, name=stem, version=version, target="cortex-m4",
                                 **({"codec": "raw"} if codec == "raw" else {}))
                flash(board.port, add_device_tag(container, KEY), confirm=True, timeout_s=20.0)
                runs = [(name, mode, channels) for name, mode in MODES]
                if codec == "lossless":
                    runs += [("streamed", DecodeMode.STREAMED, c) for c in sweep if c != channels]
                for name, mode, chunk in runs:
                    console_command(board.port, f"decode {name} {chunk}", timeout_s=60.0)
                    line = console_model(board.port)
                    assert line["decode"] == name and line["status"] == "DC_OK", line
                    (result,) = infer(board.port, x, timeout_s=120.0)
                    spans = wait_spans(board, seen + 1)
                    seen += 1
                    got = np.frombuffer(result.output, dtype=np.int8).reshape(-1)
                    bad = np.flatnonzero(got != expected.reshape(-1))
                    detail = f"element {bad[0]}: {got[bad[0]]} vs {expected.reshape(-1)[bad[0]]}" if bad.size else ""
                    host = arena_size(container, mode,
                                      stream_channels=chunk if mode is DecodeMode.STREAMED else None)
                    results.append(ModeRun(label, codec, len(container), name, chunk,
                                           int(line["arena"].split("/")[0]), int(line["scratch"]), host,
                                           spans[seen - 1], not bad.size, detail))
                    print(f"{label} {codec} {name} {chunk}: arena {results[-1].arena_device} instructions "
                          f"{spans[seen - 1]} equal={not bad.size}", file=sys.stderr)
    return results


def markdown(results: list[ModeRun], channels: int) -> str:
    by = {(r.model, r.mode): r for r in results
          if r.codec == "lossless" and (r.mode != "streamed" or r.channels == channels)}
    lines = [f"`python bench/decode_modes_bench.py --readme` (qemu-m4 = mps2-an386, DSP kernels, STREAMED in chunks "
             f"of {channels} output channels). Arena: the device's `model` line (exactly what dc_model_load "
             "needs on Cortex-M4: tables, decoder state, kernel scratch, planned region) and the host runtime's "
             "arena_size (64-bit tables, reference kernels: no kernel scratch). Instructions: one dc_model_invoke "
             "(QEMU plugin, exact), decoding included in PER_LAYER and STREAMED; every output equal to the host "
             "reference interpreter's. TFLite Micro: `arena_used_bytes` of its CMSIS-NN build (shared models "
             "README).", "",
             "| model | AT_LOAD arena (device / host) | instructions | PER_LAYER arena | instructions | "
             "STREAMED arena | instructions | TFLM arena | STREAMED / TFLM (device) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, _ in MODELS:
        row = [label]
        for name, _ in MODES:
            r = by.get((label, name))
            if r is None:
                row += ["n/a", "n/a"]
                continue
            row += [f"{r.arena_device:,} / {r.arena_host:,}", f"{r.instructions:,}" + ("" if r.equal else " (DIFFERS)")]
        s = by.get((label, "streamed"))
        row += [f"{TFLM_ARENA[label]:,}", f"{s.arena_device / TFLM_ARENA[label]:.2f}" if s else "n/a"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Kernel scratch inside the device arena (bytes): " + ", ".join(
        f"{label} {'/'.join(str(by[(label, n)].scratch_device) for n, _ in MODES if (label, n) in by)}"
        for label, _ in MODELS) + " (AT_LOAD / PER_LAYER / STREAMED; STREAMED plans each op's scratch "
        "behind its weights instead, so it shows 0 persistent).")
    lines += like_for_like(results, channels)
    chunks = sorted({r.channels for r in results if r.mode == "streamed" and r.codec == "lossless"})
    if len(chunks) > 1:
        streamed = {(r.model, r.channels): r for r in results if r.mode == "streamed" and r.codec == "lossless"}
        lines += ["", "STREAMED by output channels per chunk (device arena / instructions of one inference):", "",
                  "| model | " + " | ".join(f"{c} channels" for c in chunks) + " |",
                  "|---|" + "---|" * len(chunks)]
        for label, _ in MODELS:
            cells = [f"{streamed[(label, c)].arena_device:,} / {_m(streamed[(label, c)].instructions)}"
                     + ("" if streamed[(label, c)].equal else " (DIFFERS)") if (label, c) in streamed else "n/a"
                     for c in chunks]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def like_for_like(results: list[ModeRun], channels: int) -> list[str]:
    """The table of the raw containers (weights uncompressed, read in place as TFLite Micro reads them): each
    mode's device arena and instructions, the least arena (the mode AUTO falls back to in that arena) against
    TFLite Micro's."""
    raw = {(r.model, r.mode): r for r in results
           if r.codec == "raw" and (r.mode != "streamed" or r.channels == channels)}
    lines = ["", "Like for like with TFLite Micro: the same int8 models packed with `codec=\"raw\"` (weights "
             "uncompressed in the container, read in place from flash by the kernels as TFLite Micro reads its "
             "own; STREAMED copies a conv's raw weights into the plan a chunk at a time instead). Device arena / "
             "instructions of one inference per mode, every output equal to the host reference interpreter's; "
             "least: the smallest of the three (what AUTO settles on in an arena of that size).", "",
             "| model | raw container B | AT_LOAD | PER_LAYER | STREAMED | least arena | TFLM arena | least / TFLM |",
             "|---|---|---|---|---|---|---|---|"]
    for label, _ in MODELS:
        runs = [raw.get((label, name)) for name, _ in MODES]
        if any(r is None for r in runs):
            continue
        cells = [f"{r.arena_device:,} / {_m(r.instructions)}" + ("" if r.equal else " (DIFFERS)") for r in runs]
        least = min(runs, key=lambda r: (r.arena_device, r.instructions))
        lines.append(f"| {label} | {runs[0].container_bytes:,} | " + " | ".join(cells) +
                     f" | {least.arena_device:,} ({least.mode}) | {TFLM_ARENA[label]:,} | "
                     f"{least.arena_device / TFLM_ARENA[label]:.2f} |")
    return lines


def _m(n: int) -> str:
    return f"{n / 1e6:.2f} M"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--board", default="qemu-m4")
    parser.add_argument("--channels", type=int, default=8, help="STREAMED: output channels per chunk")
    parser.add_argument("--sweep", default="", help="STREAMED again with these chunk sizes, e.g. 2,4,16")
    parser.add_argument("--readme", action="store_true", help=f"rewrite the '{SECTION}' section of bench/README.md")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sweep = tuple(int(c) for c in args.sweep.split(",") if c.strip())
    results = measure(args.models, args.board, args.channels, sweep)
    text = markdown(results, args.channels)
    print(text)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    if args.readme:
        replace_section(SECTION, text)
    return 0 if all(r.equal for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
