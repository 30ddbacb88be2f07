"""Configuration for the unmodified MLPerf Tiny runner (mlcommons/tiny `benchmark/runner`)
against a dcagent board, and a launcher that lets the runner find a board on a pty.

    python -m bench.mlperf_runner config --port /dev/pts/N --model kws01 -o /tmp/rr/cfg
    python -m bench.mlperf_runner run --runner /tmp/tiny/benchmark/runner --port /dev/pts/N \
        --config /tmp/rr/cfg -- --mode p

`config` writes, under the output folder:
- `devices.yaml`: one DUT (`check_name: dcagent`, the firmware's `m-name-dut-[...]`), matched
  by a USB VID:PID (the runner finds devices only through pyserial's port list);
- `tests.yaml`: the runner's performance script for the model (`loop 5: download, infer N W`
  with the counts of the runner's own tests_performance.yaml unless told otherwise);
- `datasets/<model>/y_labels.csv` and `FILES` stand-in input files in the benchmark's file
  format (docs/hil.md, "The MLPerf Tiny runner"): random bytes, seeded; the real data sets
  are not on this machine. Performance mode does not judge the outputs.

`run` starts the runner's `main.py` (never changed, never fetched by this module) in this
process after adding the board's port to pyserial's port list with the VID:PID of
`devices.yaml`: a pty (native or QEMU board) has no USB identity, so the runner's scan would
not see it. A board behind a real USB serial adapter needs no launcher: put the adapter's
VID:PID in devices.yaml and run main.py directly.
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: pid.codes test VID:PID (1209:0001), given to the pty by `run`.
TEST_VID = 0x1209
TEST_PID = 0x0001
#: The name the firmware answers to `name%` (DC_MLPERF_DEVICE_NAME).
DUT_NAME = "dcagent"
#: The runner's performance loop count (it reports "ERROR 1" for any other).
LOOPS = 5


@dataclass(frozen=True)
class Benchmark:
    """One MLPerf Tiny benchmark as the runner sees it."""

    model: str          # the m-model-[...] the DUT reports; picks tests.yaml entry and data folder
    name: str           # tests.yaml `name`
    classes: int        # y_labels.csv column 2
    file_bytes: int     # one input file (the benchmark's format)
    window_bytes: int   # ad01: the window the runner sends; else 0 (whole file)
    stride_bytes: int   # ad01: the window stride; else 0
    iterations: int     # `infer N W` of the runner's tests_performance.yaml
    warmups: int
    file_format: str    # what the bytes are (docs)


#: File formats and counts from mlcommons/tiny benchmark/evaluation/datasets/README.md and
#: benchmark/runner/tests_performance.yaml.
BENCHMARKS = {
    "kws01": Benchmark("kws01", "keyword_spotting", 12, 490, 0, 0, 70, 10,
                       "49 x 10 MFCC, int8"),
    "ic01": Benchmark("ic01", "image_classification", 10, 3072, 0, 0, 20, 5,
                      "32 x 32 RGB, uint8 (HWC)"),
    "vww01": Benchmark("vww01", "person_detection", 2, 27648, 0, 0, 20, 5,
                       "96 x 96 RGB, uint8 (HWC)"),
    "ad01": Benchmark("ad01", "anomoly_detection", 2, 2560 + 4 * 512, 2560, 512, 1500, 10,
                      "log-mel frames, float32 little-endian; windows of 5 x 128"),
}


def devices_yaml(baud: int = 115200, vid: int = TEST_VID, pid: int = TEST_PID) -> str:
    """The runner's devices file with one DUT (no interface board, no power manager)."""
    return (
        "# dcagent board as the MLPerf Tiny runner's DUT (performance/accuracy mode:\n"
        "# connected directly, no interface board, no power manager)\n"
        f"- name: dcagent\n"
        f"  type: dut\n"
        f"  check_name: {DUT_NAME}\n"
        f"  baud: {baud}\n"
        f"  usb:\n"
        f"    0x{vid:04X}: 0x{pid:04X}\n"
    )


def tests_yaml(bench: Benchmark, iterations: int | None = None, warmups: int | None = None) -> str:
    """The runner's test script for `bench` in performance mode."""
    n = bench.iterations if iterations is None else iterations
    w = bench.warmups if warmups is None else warmups
    if n < 1 or w < 0:
        raise ValueError(f"iterations must be >= 1 and warmups >= 0 (got {n}, {w})")
    return (
        f"{bench.model}:\n"
        f"  name: {bench.name}\n"
        f"  model: {bench.model}\n"
        f"  truth_file: y_labels.csv\n"
        f"  script:\n"
        f"    - loop {LOOPS}:\n"
        f"      - download\n"
        f"      - infer {n} {w}\n"
    )


def stand_in_files(bench: Benchmark, count: int = LOOPS, seed: int = 20261129) -> list[tuple[str, bytes, int]]:
    """`count` (file name, bytes, class) stand-in inputs in the benchmark's file format.

    int8/uint8 formats: uniform random bytes. ad01: float32 values drawn from N(0, 1).
    """
    rng = np.random.default_rng(seed)
    files = []
    for i in range(count):
        label = i % bench.classes
        if bench.model == "ad01":
            data = rng.standard_normal(bench.file_bytes // 4).astype("<f4").tobytes()
        else:
            data = rng.integers(0, 256, bench.file_bytes, dtype=np.uint8).tobytes()
        files.append((f"standin_{i:03d}_{label}.bin", data, label))
    return files


def labels_csv(bench: Benchmark, files: list[tuple[str, bytes, int]]) -> str:
    """y_labels.csv rows: `file,classes,class` (ad01: `,window,stride` too)."""
    extra = f",{bench.window_bytes},{bench.stride_bytes}" if bench.window_bytes else ""
    return "".join(f"{name},{bench.classes},{label}{extra}\n" for name, _, label in files)


def write_config(out: Path, model: str, baud: int = 115200, iterations: int | None = None,
                 warmups: int | None = None, files: int = LOOPS) -> list[Path]:
    """Writes devices.yaml, tests.yaml and datasets/<model>/ under `out`; returns the paths.

    Raises ValueError for an unknown model, files < LOOPS or bad counts.
    """
    if model not in BENCHMARKS:
        raise ValueError(f"unknown MLPerf Tiny model {model!r} (known: {', '.join(BENCHMARKS)})")
    if files < LOOPS:
        raise ValueError(f"the runner's loop downloads {LOOPS} files: files must be >= {LOOPS}")
    bench = BENCHMARKS[model]
    data_dir = out / "datasets" / model
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("devices.yaml", devices_yaml(baud)),
                       ("tests.yaml", tests_yaml(bench, iterations, warmups))):
        (out / name).write_text(text)
        written.append(out / name)
    inputs = stand_in_files(bench, files)
    for name, data, _ in inputs:
        (data_dir / name).write_bytes(data)
        written.append(data_dir / name)
    (data_dir / "y_labels.csv").write_text(labels_csv(bench, inputs))
    written.append(data_dir / "y_labels.csv")
    return written


def add_port(port: str, vid: int = TEST_VID, pid: int = TEST_PID) -> None:
    """Makes pyserial's `list_ports.comports()` also list `port` with USB `vid`:`pid`.

    Only the port list is changed; opening the port is pyserial's own code.
    """
    from serial.tools import list_ports, list_ports_common

    info = list_ports_common.ListPortInfo(port, skip_link_detection=True)
    info.vid, info.pid = vid, pid
    info.description = "dcagent board"
    info.hwid = f"USB VID:PID={vid:04X}:{pid:04X}"
    listed = list_ports.comports

    def comports(include_links: bool = False):
        return [info] + [p for p in listed(include_links) if p.device != port]

    list_ports.comports = comports


def run_runner(runner: Path, port: str, config: Path, argv: list[str]) -> None:
    """Runs the runner's main.py with `argv`, from `config` (its sessions/ land there), with
    `port` listed as the DUT. devices.yaml, tests.yaml and datasets/ of `config` are passed
    unless argv names them. Raises FileNotFoundError without runner/main.py."""
    main = runner / "main.py"
    if not main.is_file():
        raise FileNotFoundError(f"{main}: not the mlcommons/tiny benchmark/runner folder")
    args = list(argv)
    defaults = (("--device_list", config / "devices.yaml"), ("--test_script", config / "tests.yaml"),
                ("--dataset_path", config / "datasets"))
    for flag, path in defaults:
        if not any(a == flag or a.startswith(flag + "=") for a in args):
            args += [flag, str(path.resolve())]
    add_port(port)
    sys.path.insert(0, str(runner.resolve()))
    sys.argv = [str(main), *args]
    os.chdir(config)
    runpy.run_path(str(main.resolve()), run_name="__main__")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    cfg = sub.add_parser("config", help="write devices.yaml, tests.yaml and a stand-in data set")
    cfg.add_argument("--model", required=True, choices=sorted(BENCHMARKS))
    cfg.add_argument("-o", "--out", type=Path, required=True)
    cfg.add_argument("--baud", type=int, default=115200)
    cfg.add_argument("--iterations", type=int, help="infer N (default: the runner's)")
    cfg.add_argument("--warmups", type=int, help="infer N W (default: the runner's)")
    cfg.add_argument("--port", help="only printed: the port `run` will list")
    run = sub.add_parser("run", help="run the runner's main.py with a pty listed as the DUT")
    run.add_argument("--runner", type=Path, required=True, help="tiny/benchmark/runner")
    run.add_argument("--port", required=True)
    run.add_argument("--config", type=Path, required=True, help="the folder `config` wrote")
    run.add_argument("rest", nargs=argparse.REMAINDER, help="-- then main.py's own options")
    args = parser.parse_args(argv)
    if args.action == "config":
        paths = write_config(args.out, args.model, args.baud, args.iterations, args.warmups)
        for path in paths:
            print(path)
        return 0
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    run_runner(args.runner, args.port, args.config, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
