"""Side-by-side benchmark of our entropy coder against NNCodec and general compressors.

On the int8 weights of the four MLPerf Tiny models, and on the same weights re-quantized to
6 and 4 bits per output channel, it measures the coded size of ours (`host.coder`), NNCodec's
DeepCABAC core (best settings per tensor, and the settings of its published figures), zlib-9,
xz-9e, zstd-19 and the order-0 entropy, and the encode/decode speed of ours and NNCodec.

    python bench/coder_bench.py [--models DIR] [--json OUT] [--markdown] [--bits 8,6,4]

Exit status: 0 when every coder round-tripped losslessly, 1 when one did not (or failed, or
NNCodec is missing), 2 when the models cannot be read. What each column means: bench/README.md.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `bench` and `host` importable
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.peers import PeerError, generic, nncodec_peer  # noqa: E402
from bench.requantize import requantize  # noqa: E402
from bench.weights import load_weights  # noqa: E402
from host.errors import DcagentError  # noqa: E402

DEFAULT_MODELS = ROOT.parent / "shared" / "models" / "mlperf-tiny"
DEFAULT_JSON = ROOT / "bench" / "out" / "coder.json"

#: (short name, file, int8 weight count we must find).
MODELS = (
    ("KWS", "kws_ref_model.tflite", 22_016),
    ("ResNet-8", "pretrainedResnet_quant.tflite", 77_360),
    ("VWW", "vww_96_int8.tflite", 208_112),
    ("AD", "ad01_int8.tflite", 264_192),
)

#: NNCodec's published lossless sizes of the int8 levels (MLPerf Tiny README), bytes.
PUBLISHED_NNCODEC_INT8 = {"KWS": 21_761, "ResNet-8": 72_507, "VWW": 38_887, "AD": 167_587}

EXIT_OK, EXIT_LOSSY, EXIT_MODELS = 0, 1, 2


@dataclass
class CaseResult:
    """Everything measured for one model at one bit width. Sizes in bytes, speeds in weights/s."""

    model: str
    file: str
    bits: int
    weights: int
    tensors: int
    nncodec_bytes: int
    nncodec_profile: int
    nncodec_unary_lengths: list[int]
    nncodec_row_skip: list[bool]
    nncodec_published_settings_bytes: int
    zlib_bytes: int
    xz_bytes: int
    zstd_bytes: int
    entropy_bytes: float
    entropy_model_bytes: float
    nncodec_encode_wps: float
    nncodec_decode_wps: float
    ours_bytes: int | None = None
    ours_encode_wps: float | None = None
    ours_decode_wps: float | None = None
    ours_error: str | None = None
    published_nncodec_bytes: int | None = None

    @property
    def ratio(self) -> float | None:
        """ours / NNCodec (best settings) in bytes; below 1 means ours is smaller."""
        return None if self.ours_bytes is None else self.ours_bytes / self.nncodec_bytes


@dataclass
class Ours:
    """Our coder's encode/decode functions, or why they are unavailable."""

    encode: Callable[..., bytes] | None
    decode: Callable[..., np.ndarray] | None
    reason: str | None = None


@dataclass
class Report:
    """A whole run: the cases plus what is needed to interpret them."""

    cases: list[CaseResult] = field(default_factory=list)
    repeat: int = 5
    machine: str = ""
    python: str = ""
    nncodec_version: str | None = None
    ours_unavailable: str | None = None


def load_ours() -> Ours:
    """Import `host.coder` lazily; when it (or its extension) is missing, say why."""
    try:
        coder = importlib.import_module("host.coder")
        return Ours(encode=coder.encode_levels, decode=coder.decode_levels)
    except (ImportError, AttributeError) as exc:
        return Ours(encode=None, decode=None, reason=f"host.coder unavailable: {exc}")


def best_time(action: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of `repeat` runs of `action`, in seconds, with the GC paused."""
    times = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return min(times)


def load_cases(models_dir: Path, bits_list: list[int]) -> list[tuple[str, str, int, list[np.ndarray]]]:
    """(model, file, bits, tensors as 2-D int32 rows) for every model and bit width.

    Raises:
        DcagentError: a model is missing, unreadable, or has an unexpected weight count.
    """
    cases = []
    for name, filename, expected in MODELS:
        weights = load_weights(models_dir / filename)
        count = sum(w.size for w in weights)
        if count != expected:
            raise DcagentError(f"{filename}: found {count:,} int8 weights, expected {expected:,}")
        for bits in bits_list:
            tensors = weights if bits == 8 else [requantize(w, bits) for w in weights]
            cases.append((name, filename, bits, [t.rows() for t in tensors]))
    return cases


def search_nncodec(tensors: list[np.ndarray], advance: Callable[[], None]):
    """Best NNCodec settings: profile per model, unary length and row skipping per tensor."""
    best = None
    for profile in (0, 1):
        chosen = [nncodec_peer.best_settings(rows, profile) for rows in tensors]
        advance()
        total = sum(size for _, size in chosen)
        if best is None or total < best[0]:
            best = (total, profile, [settings for settings, _ in chosen])
    return best


def measure_case(name: str, filename: str, bits: int, tensors: list[np.ndarray], ours: Ours,
                 repeat: int, advance: Callable[[], None]) -> CaseResult:
    """Measure one model at one bit width.

    Raises:
        PeerError: NNCodec is missing or failed, or did not reproduce the levels.
    """
    total, profile, settings = search_nncodec(tensors, advance)
    payloads = [nncodec_peer.encode(rows, s) for rows, s in zip(tensors, settings)]
    for rows, payload, s in zip(tensors, payloads, settings):
        if not np.array_equal(nncodec_peer.decode(payload, rows.shape, s), rows):
            raise PeerError(f"NNCodec did not reproduce a {rows.shape} tensor of {name}")
    published = sum(len(nncodec_peer.encode(rows)) for rows in tensors)
    advance()

    flat = np.concatenate([rows.ravel() for rows in tensors])
    raw = generic.level_bytes(flat)
    weights = int(flat.size)
    enc_s = best_time(lambda: [nncodec_peer.encode(r, s) for r, s in zip(tensors, settings)], repeat)
    dec_s = best_time(lambda: [nncodec_peer.decode(p, r.shape, s)
                               for p, r, s in zip(payloads, tensors, settings)], repeat)
    advance()
    result = CaseResult(
        model=name, file=filename, bits=bits, weights=weights, tensors=len(tensors),
        nncodec_bytes=total, nncodec_profile=profile,
        nncodec_unary_lengths=[s.cabac_unary_length for s in settings],
        nncodec_row_skip=[s.row_skip for s in settings],
        nncodec_published_settings_bytes=published,
        zlib_bytes=generic.zlib_size(raw), xz_bytes=generic.xz_size(raw),
        zstd_bytes=generic.zstd_size(raw),
        entropy_bytes=sum(generic.entropy_bytes(rows) for rows in tensors),
        entropy_model_bytes=generic.entropy_bytes(flat),
        nncodec_encode_wps=weights / enc_s, nncodec_decode_wps=weights / dec_s,
        published_nncodec_bytes=PUBLISHED_NNCODEC_INT8.get(name) if bits == 8 else None,
    )
    advance()
    if ours.encode is not None:
        measure_ours(result, tensors, ours, repeat)
    advance()
    return result


def measure_ours(result: CaseResult, tensors: list[np.ndarray], ours: Ours, repeat: int) -> None:
    """Fill in our size and speed, after checking that every tensor round-trips exactly."""
    try:
        payloads = [ours.encode(rows) for rows in tensors]
        for index, (rows, payload) in enumerate(zip(tensors, payloads)):
            decoded = np.asarray(ours.decode(payload, rows.size))
            expected = rows.ravel()
            if decoded.shape != expected.shape:
                raise PeerError(f"tensor {index}: decoded {decoded.shape}, expected {expected.shape}")
            mismatch = np.flatnonzero(decoded != expected)
            if mismatch.size:
                at = int(mismatch[0])
                raise PeerError(f"tensor {index}: first mismatch at {at}: "
                                f"{int(decoded[at])} != {int(expected[at])}")
        enc_s = best_time(lambda: [ours.encode(rows) for rows in tensors], repeat)
        dec_s = best_time(lambda: [ours.decode(p, rows.size) for p, rows in zip(payloads, tensors)],
                          repeat)
    except (DcagentError, ValueError, TypeError) as exc:
        result.ours_error = f"{type(exc).__name__}: {exc}"
        return
    result.ours_bytes = sum(len(p) for p in payloads)
    result.ours_encode_wps = result.weights / enc_s
    result.ours_decode_wps = result.weights / dec_s


def run(models_dir: Path, bits_list: list[int], repeat: int, console: Console) -> Report:
    """Measure every case with a progress bar on `console`.

    Raises:
        DcagentError: models missing or unreadable; PeerError: NNCodec missing or failed.
    """
    ours = load_ours()
    cases = load_cases(models_dir, bits_list)
    report = Report(repeat=repeat, machine=f"{platform.machine()} {platform.processor() or ''}, "
                    f"{os.cpu_count()} CPUs".replace(" ,", ","),
                    python=platform.python_version(), nncodec_version=nncodec_peer.version(),
                    ours_unavailable=ours.reason)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    steps_per_case = 6
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("coder bench", total=steps_per_case * len(cases))
        for name, filename, bits, tensors in cases:
            progress.update(task, description=f"{name} {bits}-bit")
            report.cases.append(measure_case(name, filename, bits, tensors, ours, repeat,
                                             lambda: progress.advance(task)))
    return report


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _mwps(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1e6:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.3f}"


SIZE_HEADERS = ("model", "bits", "weights", "ours", "NNCodec", "ours/NNCodec", "NNCodec pub. settings",
                "zlib-9", "xz-9e", "zstd-19", "H0 per tensor")
SPEED_HEADERS = ("model", "bits", "NNCodec enc", "ours enc", "enc ours/NNCodec", "NNCodec dec",
                 "ours dec", "dec ours/NNCodec")


def size_rows(report: Report) -> list[list[str]]:
    """One row of size cells per case, in SIZE_HEADERS order (bytes)."""
    rows = []
    for c in report.cases:
        ours = "error" if c.ours_error else _num(c.ours_bytes)
        rows.append([c.model, str(c.bits), f"{c.weights:,}", ours, f"{c.nncodec_bytes:,}",
                     _ratio(c.ours_bytes, c.nncodec_bytes), f"{c.nncodec_published_settings_bytes:,}",
                     f"{c.zlib_bytes:,}", f"{c.xz_bytes:,}", f"{c.zstd_bytes:,}",
                     _num(c.entropy_bytes)])
    return rows


def speed_rows(report: Report) -> list[list[str]]:
    """One row of speed cells per case, in SPEED_HEADERS order (million weights per second)."""
    return [[c.model, str(c.bits), _mwps(c.nncodec_encode_wps), _mwps(c.ours_encode_wps),
             _ratio(c.ours_encode_wps, c.nncodec_encode_wps), _mwps(c.nncodec_decode_wps),
             _mwps(c.ours_decode_wps), _ratio(c.ours_decode_wps, c.nncodec_decode_wps)]
            for c in report.cases]


def notes(report: Report) -> list[str]:
    """Lines printed under the tables: the reproduction check and anything unavailable."""
    lines = []
    for c in report.cases:
        if c.published_nncodec_bytes:
            dev = c.nncodec_published_settings_bytes / c.published_nncodec_bytes - 1
            lines.append(f"NNCodec {c.model} int8 with its published settings: "
                         f"{c.nncodec_published_settings_bytes:,} B vs published "
                         f"{c.published_nncodec_bytes:,} B ({dev:+.2%})")
    if report.ours_unavailable:
        lines.append(f"ours: n/a ({report.ours_unavailable})")
    for c in report.cases:
        if c.ours_error:
            lines.append(f"ours failed on {c.model} {c.bits}-bit: {c.ours_error}")
    return lines


def print_rich(report: Report, console: Console) -> None:
    """Print the size and speed tables with rich."""
    sizes = Table(title="Coded size of the weight levels, bytes (lossless)")
    for i, header in enumerate(SIZE_HEADERS):
        sizes.add_column(header, justify="left" if i == 0 else "right")
    for row in size_rows(report):
        sizes.add_row(*row)
    speeds = Table(title=f"Speed, million weights per second (best of {report.repeat})")
    for i, header in enumerate(SPEED_HEADERS):
        speeds.add_column(header, justify="left" if i == 0 else "right")
    for row in speed_rows(report):
        speeds.add_row(*row)
    console.print(sizes)
    console.print(speeds)
    for line in notes(report):
        console.print(line, markup=False, highlight=False)


def markdown(report: Report) -> str:
    """The size and speed tables as GitHub markdown, for bench/README.md."""
    def table(headers, rows):
        out = ["| " + " | ".join(headers) + " |",
               "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(out)
    parts = [f"Machine: {report.machine}; Python {report.python}; NNCodec {report.nncodec_version}.",
             "", "Coded size of the weight levels, bytes (lossless):", "",
             table(SIZE_HEADERS, size_rows(report)), "",
             f"Speed, million weights per second (best of {report.repeat}):", "",
             table(SPEED_HEADERS, speed_rows(report)), ""]
    parts += [f"- {line}" for line in notes(report)]
    return "\n".join(parts) + "\n"


def write_json(report: Report, path: Path) -> None:
    """Write the report to `path` atomically (temporary file, then rename)."""
    data = asdict(report)
    for case, obj in zip(data["cases"], report.cases):
        case["ratio_ours_nncodec"] = obj.ratio
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def parse_bits(text: str) -> list[int]:
    """Parse --bits ("8,6,4"): each 2..8, 8 meaning the models' own int8 levels."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text}") from exc
    if not values or any(not 2 <= v <= 8 for v in values):
        raise argparse.ArgumentTypeError("bit widths must be in 2..8")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS,
                        help="folder with the four MLPerf Tiny .tflite models")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    parser.add_argument("--markdown", action="store_true",
                        help="print markdown tables (for bench/README.md) instead of rich tables")
    parser.add_argument("--bits", type=parse_bits, default=[8, 6, 4],
                        help="bit widths, comma separated (default 8,6,4)")
    parser.add_argument("--repeat", type=int, default=5, help="timing repetitions (best is kept)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    err = Console(stderr=True)
    try:
        report = run(args.models, args.bits, args.repeat, err)
    except DcagentError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        if exc.hint:
            err.print(f"hint: {exc.hint}", markup=False, highlight=False)
        return EXIT_LOSSY if isinstance(exc, PeerError) else EXIT_MODELS
    write_json(report, args.json)
    if args.markdown:
        sys.stdout.write(markdown(report))
    else:
        out = Console()
        print_rich(report, Console(width=max(out.width, 150)))
    err.print(f"wrote {args.json}", markup=False, highlight=False)
    return EXIT_LOSSY if any(c.ours_error for c in report.cases) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
