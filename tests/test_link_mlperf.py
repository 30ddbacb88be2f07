"""The MLPerf Tiny DUT protocol on the native board, line by line as the mlcommons/tiny
runner reads it (commands end in '%', answers end with "m-ready"), sharing the UART with the
console and SMP."""
import asyncio
import re
import time

import numpy as np
import pytest
import serial
from smpclient.requests.os_management import EchoWrite

from dcagent.link import SmpSession, flash
from host.reference import run as reference_run
from tests.link_boards import board_running
from tests.link_models import mlperf_container, mlperf_graph


class Dut:
    """The runner's view: write "cmd%", collect lines until one containing m-ready."""

    def __init__(self, port: str) -> None:
        self.link = serial.Serial(port, 115200, timeout=0.05)
        self.link.reset_input_buffer()
        self.pending = b""

    def lines(self, end: str = "m-ready", timeout: float = 5.0) -> list[str]:
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                text = line.decode().rstrip("\r")
                out.append(text)
                if end in text:
                    return out
            self.pending += self.link.read(4096)
        raise AssertionError(f"no {end!r} in {out!r} {self.pending!r}")

    def command(self, cmd: str) -> list[str]:
        self.link.write(cmd.encode() + b"%")
        return self.lines()

    def close(self) -> None:
        self.link.close()


@pytest.fixture
def dut(tmp_path):
    with board_running("native", tmp_path) as board:
        d = Dut(board.port)
        d.board = board
        yield d
        d.close()


def test_name_profile_timestamp_help(dut):
    assert dut.command("name") == ["m-name-dut-[dcagent]", "m-ready"]
    assert re.match(r"^m-name-dut-\[([^]]+)]$", dut.command("name")[0])  # the runner's regex
    assert dut.command("profile") == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[none]", "m-ready"]
    first = dut.command("timestamp")
    second = dut.command("timestamp")
    t0, t1 = (int(re.match(r"^m-lap-us-([0-9]+)$", lines[0]).group(1)) for lines in (first, second))
    assert first[1] == "m-ready" and t1 >= t0
    help_lines = dut.command("help")
    assert help_lines[0] == "ULPMark for tinyML Firmware V0.0.1" and help_lines[-1] == "m-ready"
    assert any(line.startswith("infer N") for line in help_lines)
    assert dut.command("") == ["m-ready"]
    assert dut.command("bogus 1 2") == ["e-[Unknown command: bogus]", "m-ready"]
    assert dut.command("x" * 300) == ["e-[Command too long]", "m-ready"]


def test_db_load_and_print_as_the_runner_sends_it(dut):
    data = bytes((i * 7 + 3) & 0xFF for i in range(100))
    assert dut.command(f"db load {len(data)}") == ["m-[Expecting 100 bytes]", "m-ready"]
    answers = []
    for i in range(0, len(data), 31):  # DUT.load: 31 bytes per `db` command
        answers.append(dut.command("db " + data[i:i + 31].hex()))
    assert answers[:-1] == [["m-ready"]] * (len(answers) - 1)
    assert answers[-1] == ["m-load-done", "m-ready"]
    printed = dut.command("db print")
    assert printed[-1] == "m-ready"
    rows = printed[:-1]
    assert len(rows) == 13 and all(row.startswith("m-buffer-") for row in rows)
    assert bytes.fromhex("".join(row[len("m-buffer-"):].replace("-", "") for row in rows)) == data
    assert dut.command("db print 3 98") == ["m-buffer-" + "-".join(f"{b:02x}" for b in data[98:]), "m-ready"]


def test_db_errors(dut):
    assert dut.command("db") == ["e-[Command 'db' requires a subcommand]", "m-ready"]
    assert dut.command("db load") == ["e-[Command 'db load' requires the # of bytes]", "m-ready"]
    assert dut.command("db load 0") == ["e-[Command 'db load' must be >0 bytes]", "m-ready"]
    assert dut.command("db load 27649") == ["e-[Supplied buffer size 27649 exceeds maximum of 27648]", "m-ready"]
    assert dut.command("db 0a0b") == ["e-[Command 'db load' must come first]", "m-ready"]
    assert dut.command("db load 2") == ["m-[Expecting 2 bytes]", "m-ready"]
    assert dut.command("db 0a0") == ["e-[Insufficient number of hex digits]", "m-ready"]
    assert dut.command("db 0azz") == ["e-[Invalid hex digit 'zz']", "m-ready"]
    assert dut.command("db 0a0b0c") == ["m-load-done", "m-ready"]  # digits past N are ignored


def fixed3(value: np.float32) -> str:
    """dc_mlperf.c's put_fixed3: float32 * 1000, rounded half up on the magnitude, 3 decimals."""
    scaled = np.float32(value) * np.float32(1000.0)
    milli = int(np.float32(abs(scaled)) + np.float32(0.5))
    return f"{'-' if scaled < 0 and milli else ''}{milli // 1000}.{milli % 1000:03d}"


def test_infer_errors_without_a_model(dut):
    assert dut.command("results") == ["e-[No results: run infer first]", "m-ready"]
    assert dut.command("infer 0") == ["e-[Inference iterations must be >0]", "m-ready"]
    assert dut.command("infer 1 x") == ["e-[Inference warmup must be >=0]", "m-ready"]
    assert dut.command("infer 1 0") == ["e-[Inference failed: DC_ERR_NO_MODEL]", "m-ready"]


def test_infer_and_results_line_by_line_with_a_real_model(dut):
    """KWS (DS-CNN), compressed losslessly, delivered over SMP; then the runner's sequence:
    profile, db load, db in 31-byte pieces, infer N W, results, line by line."""
    dut.link.close()
    flash(dut.board.port, mlperf_container("kws_ref_model"), confirm=True)
    dut.link.open()
    assert dut.command("profile") == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws_ref_model]",
                                      "m-ready"]
    graph = mlperf_graph("kws_ref_model")
    (spec,), (out,) = graph.input_tensors(), graph.output_tensors()
    x = np.random.default_rng(11).integers(-128, 128, size=spec.shape, dtype=np.int8)
    data = x.tobytes()
    assert dut.command("infer 1 0") == ["e-[Inference failed: DC_ERR_SHAPE]", "m-ready"]  # nothing loaded yet
    assert dut.command(f"db load {len(data)}") == [f"m-[Expecting {len(data)} bytes]", "m-ready"]
    for i in range(0, len(data), 31):
        answer = dut.command("db " + data[i:i + 31].hex())
    assert answer == ["m-load-done", "m-ready"]
    lines = dut.command("infer 3 1")
    assert lines[:3] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-3"], lines
    t0, t1 = (int(re.fullmatch(r"m-lap-us-([0-9]+)", line).group(1)) for line in lines[3:5])
    assert t1 >= t0 and lines[5] == "m-infer-done" and lines[-1] == "m-ready" and len(lines) == 8
    (expected,) = reference_run(graph, [x])
    scale, zero = np.float32(out.quantization.scale[0]), int(out.quantization.zero_point[0])
    values = ",".join(fixed3(np.float32(int(q) - zero) * scale) for q in expected.reshape(-1))
    assert lines[6] == f"m-results-[{values}]"
    assert dut.command("results") == [f"m-results-[{values}]", "m-ready"]
    assert dut.command("db load 10") == ["m-[Expecting 10 bytes]", "m-ready"]
    assert dut.command("db " + bytes(10).hex()) == ["m-load-done", "m-ready"]
    assert dut.command("infer 1 0") == ["e-[Inference failed: DC_ERR_SHAPE]", "m-ready"]  # 10 bytes, KWS takes 490


def test_float32_input_is_quantized_like_the_reference_ad_submission(dut):
    """AD (the runner sends 640 float32 LE values, 2,560 bytes): the device quantizes them with
    the input's scale and zero point (round half away from zero, saturated), as the reference
    submission's th_load_tensor does; the db buffer keeps the floats for the next infer."""
    dut.link.close()
    flash(dut.board.port, mlperf_container("ad01_int8"), confirm=True)
    dut.link.open()
    graph = mlperf_graph("ad01_int8")
    (spec,), (out,) = graph.input_tensors(), graph.output_tensors()
    scale, zero = np.float32(spec.quantization.scale[0]), int(spec.quantization.zero_point[0])
    rng = np.random.default_rng(5)
    real = (rng.standard_normal(spec.shape) * 40 * scale).astype("<f4")
    real.flat[:4] = [np.nan, 1e30, -1e30, 0.5 * scale]  # NaN -> zero point, saturation, a half
    q = real / scale
    half = np.where(q >= 0, np.float32(0.5), np.float32(-0.5)).astype(np.float32)
    rounded = np.where(np.isnan(q), 0, np.trunc(q + half))
    x = np.where(np.isnan(q), zero, np.clip(np.clip(rounded, -256, 256) + zero, -128, 127)).astype(np.int8)
    assert list(x.flat[:4]) == [zero, 127, -128, min(127, zero + 1)]
    data = real.tobytes()
    assert dut.command(f"db load {len(data)}") == [f"m-[Expecting {len(data)} bytes]", "m-ready"]
    for i in range(0, len(data), 31):
        answer = dut.command("db " + data[i:i + 31].hex())
    assert answer == ["m-load-done", "m-ready"]
    (expected,) = reference_run(graph, [x])
    oscale, ozero = np.float32(out.quantization.scale[0]), int(out.quantization.zero_point[0])
    values = ",".join(fixed3(np.float32(int(v) - ozero) * oscale) for v in expected.reshape(-1))
    for _ in range(2):  # twice: the second infer converts the same floats again
        lines = dut.command("infer 1 0")
        got, want = lines[-2].removeprefix("m-results-[").rstrip("]").split(","), values.split(",")
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        assert first is None, f"output {first}: device {got[first]}, reference {want[first]}"
        assert lines[-2:] == [f"m-results-[{values}]", "m-ready"]
    assert dut.command("db print 8 0") == ["m-buffer-" + "-".join(f"{b:02x}" for b in data[:8]), "m-ready"]


def test_protocols_share_the_uart(dut):
    """A console line, an MLPerf command and an SMP request back to back on one UART."""
    dut.link.write(b"echo hello\nname%")
    assert dut.lines() == ["hello", "m-name-dut-[dcagent]", "m-ready"]
    dut.link.close()

    async def smp_then_text():
        async with SmpSession(dut.board.port) as s:
            s._transport._conn.write(b"timestamp%")  # noqa: SLF001 - text between SMP frames
            echo = await s.request(EchoWrite(d="smp"), "echo")
            await asyncio.sleep(0.1)
            return echo.r, await s.read_text()
    r, text = asyncio.run(smp_then_text())
    assert r == "smp"
    assert re.fullmatch(rb"m-lap-us-[0-9]+\r\nm-ready\r\n", text), text
