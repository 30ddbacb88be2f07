"""The boards: each boots, talks over its pseudo-terminal, exits, faults, keeps its flash.

Real processes, real ptys, pyserial. QEMU boards are marked `qemu` (they need
qemu-system-arm and arm-none-eabi-gcc); the firmware is built on first use.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

from dcagent.boards import BOARD_NAMES, FAULT_EXIT_CODE, QemuBoard, create_board
from dcagent.boards import board as board_module
from dcagent.boards.firmware import check_build_tools, firmware_version
from dcagent.errors import BoardError

ROOT = Path(__file__).resolve().parents[1]
QEMU_BOARDS = [pytest.param(name, marks=pytest.mark.qemu) for name in ("qemu-m4", "qemu-m7", "qemu-m33")]
ALL_BOARDS = [pytest.param("native")] + QEMU_BOARDS
START_TIMEOUT_S = 120.0  # includes building the firmware on first use
IO_TIMEOUT_S = 10.0


class Uart:
    """The test's end of a board's UART: one command line out, one response line back."""

    def __init__(self, port: str) -> None:
        self.serial = serial.Serial(port, timeout=IO_TIMEOUT_S)

    def send(self, line: str) -> None:
        self.serial.write(line.encode() + b"\n")

    def read_line(self) -> str:
        """The next non-empty line; fails the test on timeout."""
        while True:
            raw = self.serial.readline()
            assert raw.endswith(b"\n"), f"timed out waiting for a line (got {raw!r})"
            text = raw.decode().strip()
            if text:
                return text

    def ask(self, line: str) -> str:
        self.send(line)
        return self.read_line()

    def close(self) -> None:
        self.serial.close()


@pytest.fixture
def boards():
    """start(name, state_dir=None) -> (board, uart); stops every board at the end."""
    started = []

    def start(name: str, state_dir: Path | None = None):
        board = create_board(name, state_dir=state_dir)
        started.append(board)
        uart = Uart(board.start(timeout=START_TIMEOUT_S))
        started.append(uart)
        return board, uart

    yield start
    for item in reversed(started):
        if isinstance(item, Uart):
            item.close()
        else:
            item.stop()


@pytest.mark.parametrize("name", ALL_BOARDS)
def test_board_answers_version_and_echo(boards, name):
    board, uart = boards(name)
    assert uart.ask("version") == f"dcfw {firmware_version()} board={name}"
    text = "round trip: 0123456789 abc ~!@#$%^&*()_+ " + "x" * 150
    assert uart.ask(f"echo {text}") == text
    assert uart.ask("no-such-command").startswith("error: unknown command")
    assert board.is_running


@pytest.mark.parametrize("name", ALL_BOARDS)
def test_exit_command_sets_process_status(boards, name):
    board, uart = boards(name)
    assert uart.ask("exit 3") == "ok"
    assert board.wait(IO_TIMEOUT_S) == 3
    assert not board.is_running
    assert board.exit_code == 3


@pytest.mark.parametrize("name", ALL_BOARDS)
def test_fault_prints_pc_and_exits_with_fault_code(boards, name):
    board, uart = boards(name)
    uart.send("fault")
    line = uart.read_line()
    if name == "native":
        assert line.startswith(("FAULT signal=SIGILL addr=0x", "FAULT signal=SIGTRAP addr=0x")), line
    else:
        assert line.startswith("FAULT pc=0x") and "exception=0x00000003" in line, line
    assert board.wait(IO_TIMEOUT_S) == FAULT_EXIT_CODE


@pytest.mark.parametrize("name", ["native", pytest.param("qemu-m4", marks=pytest.mark.qemu)])
def test_flash_persists_across_restart(boards, tmp_path, name):
    state = tmp_path / "state"
    board, uart = boards(name, state_dir=state)
    geometry = uart.ask("info")
    assert "flash=2097152 erase=4096 write=8" in geometry
    assert uart.ask("flash read 4096 8") == "ff" * 8  # created erased
    assert uart.ask("flash write 4096 0011223344556677") == "ok"
    assert board.stop() is not None
    uart.close()
    assert (state / "flash.bin").stat().st_size == 2 * 1024 * 1024

    board, uart = boards(name, state_dir=state)
    assert uart.ask("flash read 4096 8") == "0011223344556677"
    assert uart.ask("flash read 4104 8") == "ff" * 8


def test_native_flash_enforces_nor_rules(boards):
    _, uart = boards("native")
    assert uart.ask("flash write 0 0102030405060708") == "ok"
    assert uart.ask("flash write 0 0102030405060708") == "error: DC_ERR_FLASH"  # not erased
    assert uart.ask("flash write 4 01020304") == "error: DC_ERR_ARG"  # not write-aligned
    assert uart.ask("flash erase 0 100") == "error: DC_ERR_ARG"  # not erase-aligned
    assert uart.ask(f"flash read {2 * 1024 * 1024 - 4} 8") == "error: DC_ERR_ARG"  # past the end
    assert uart.ask("flash erase 0 4096") == "ok"
    assert uart.ask("flash read 0 8") == "ff" * 8
    assert uart.ask("flash write 0 0102030405060708") == "ok"


@pytest.mark.parametrize("name", ["native", pytest.param("qemu-m4", marks=pytest.mark.qemu)])
def test_reset_restarts_firmware_on_the_same_port(boards, name):
    board, uart = boards(name)
    pid = board.pid
    assert uart.ask("reset") == "ok"
    assert uart.read_line().endswith(f"board={name} ready")
    assert uart.ask("echo after reset") == "after reset"
    assert board.pid == pid and board.is_running


def _work_spans(boards, name: str, sizes: list[int]) -> list[int]:
    """Instruction counts of region 1 for `work N` of each size, from one fresh boot."""
    board, uart = boards(name)
    for n in sizes:
        assert uart.ask(f"work {n}").startswith(f"work n={n} result=0x")
    assert uart.ask("exit 0") == "ok"
    assert board.wait(IO_TIMEOUT_S) == 0
    counts = board.instructions()
    assert counts.total is not None and counts.regions[1].entries == len(sizes)
    return counts.spans(1)


@pytest.mark.parametrize("name", QEMU_BOARDS)
def test_instruction_count_is_deterministic(boards, name):
    sizes = [0, 1000, 2000, 5000]
    first = _work_spans(boards, name, sizes)
    second = _work_spans(boards, name, sizes)
    assert first == second, f"instruction counts differ between runs: {first} vs {second}"
    # The loop is straight-line code: every iteration costs the same number of instructions.
    per_iteration = (first[1] - first[0]) // 1000
    assert per_iteration > 0
    assert [c - first[0] for c in first] == [per_iteration * n for n in sizes]


@pytest.mark.qemu
def test_instruction_counts_are_readable_while_running(boards):
    board, uart = boards("qemu-m4")
    assert isinstance(board, QemuBoard)
    uart.ask("work 100")
    live = board.instructions()
    assert live.total is None  # QEMU still runs: only the marks so far
    assert [m.region for m in live.marks] == [1, 0]


@pytest.mark.parametrize("name", ["native", pytest.param("qemu-m4", marks=pytest.mark.qemu)])
def test_cli_board_start_prints_port_first_and_stops_on_sigterm(tmp_path, name):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "dcagent.cli", "board", "start", name, "--state", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("port=/dev/pts/"), (first, process.stderr.read() if process.poll() else "")
        port = first.strip().split("=", 1)[1]
        uart = Uart(port)
        assert uart.ask("version").endswith(f"board={name}")
        uart.close()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert f"board {name} stopped" in err
    assert not os.path.exists(port)  # the pseudo-terminal went away with the board
    if name != "native":
        assert out.startswith("instructions="), out


def test_stop_reaps_the_process(boards):
    board, _ = boards("native")
    pid = board.pid
    assert board.stop() == 0  # the native firmware exits cleanly on SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert board.stop() == 0  # idempotent


def test_stop_from_two_threads_at_once_releases_the_board_once(boards, monkeypatch):
    # A HIL watchdog kills a stuck case's board while the case's own thread powers it off. Both
    # reach the release; with the port handle closed between one's check and its close, the
    # other's close failed with EBADF (a flaky tests/test_hil_run.py). os.close is slowed here so
    # the two overlap every time.
    board, _ = boards("native")
    real_close = os.close

    def slow_close(fd: int) -> None:
        time.sleep(0.2)
        real_close(fd)

    monkeypatch.setattr(board_module.os, "close", slow_close)
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            board.stop()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    assert errors == []
    assert board.stop() == 0


def test_missing_cross_compiler_names_the_package(tmp_path):
    with pytest.raises(BoardError) as caught:
        check_build_tools("qemu-m4", path=str(tmp_path))
    assert caught.value.hint == "apt-get install make" or "gcc-arm-none-eabi" in (caught.value.hint or "")
    (tmp_path / "make").write_text("#!/bin/sh\n")
    (tmp_path / "make").chmod(0o755)
    with pytest.raises(BoardError) as caught:
        check_build_tools("qemu-m4", path=str(tmp_path))
    assert caught.value.hint == "apt-get install gcc-arm-none-eabi"


def test_unknown_board_is_a_board_error():
    with pytest.raises(BoardError):
        create_board("esp32")
    assert BOARD_NAMES == ("native", "qemu-m4", "qemu-m7", "qemu-m33")
