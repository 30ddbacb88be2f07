"""The QEMU boards: the firmware cross-built for Cortex-M and run in qemu-system-arm.

Start-up (each step bounded by the caller's deadline):
1. build the image and the instruction-count plugin (cached);
2. create a pseudo-terminal here and hand its master to QEMU as a tty backend
   (`-add-fd` + `-chardev serial,path=/dev/fdset/N`); the slave path is the board's port.
   (QEMU's own `-serial pty` backend only polls for a client once a second, which delays
   the first byte to the guest by up to 1 s; a tty backend has no such state.)
3. start QEMU paused (`-S`) with `-icount shift=0,align=off` (virtual time = instruction
   count: deterministic timers), semihosting (exit codes, flash file), the plugin;
4. `cont` on the monitor (a unix socket), wait for the firmware's ready line.
"""
from __future__ import annotations

import os
import shutil
import termios
import tty
from dataclasses import dataclass
from pathlib import Path

from dcagent.boards.board import Board
from dcagent.boards.firmware import FirmwareImage, build_firmware, build_plugin
from dcagent.boards.insncount import InstructionLog, read_instruction_log
from dcagent.boards.monitor import QemuMonitor
from dcagent.errors import BoardError

QEMU_BINARY = "qemu-system-arm"
#: Name of the flash file inside the state directory (same as the native board).
FLASH_FILE = "flash.bin"


@dataclass(frozen=True)
class QemuMachine:
    """A board name and the QEMU machine that runs it."""

    board: str
    machine: str
    cpu: str


MACHINES = {
    m.board: m
    for m in (
        QemuMachine("qemu-m4", "mps2-an386", "cortex-m4f"),
        QemuMachine("qemu-m7", "mps2-an500", "cortex-m7"),
        QemuMachine("qemu-m33", "mps2-an505", "cortex-m33"),
    )
}


def machine_for(name: str) -> QemuMachine:
    """The QemuMachine for a board name ("qemu-m4") or a QEMU machine ("mps2-an386").

    Raises BoardError for anything else.
    """
    for machine in MACHINES.values():
        if name in (machine.board, machine.machine):
            return machine
    known = ", ".join(f"{m.board} ({m.machine})" for m in MACHINES.values())
    raise BoardError(f"unknown QEMU board {name!r}; known: {known}")


class QemuBoard(Board):
    """The firmware in qemu-system-arm. `machine` is a board name or a QEMU machine name.

    `instructions()` reads the plugin's counts (live while running, final after stop).
    """

    def __init__(self, machine: str = "qemu-m4", *, state_dir: str | os.PathLike[str] | None = None,
                 profile: bool = True, kernels: str = "opt") -> None:
        super().__init__(state_dir=state_dir)
        self.machine = machine_for(machine)
        self.name = self.machine.board
        self.profile = profile
        self.kernels = kernels  # "opt" or "ref": firmware/Makefile KERNELS (docs/kernels.md)
        self.image: FirmwareImage | None = None
        self._plugin: Path | None = None
        self._monitor: QemuMonitor | None = None
        self._insn_path: Path | None = None
        self._insn_final: InstructionLog | None = None
        self._master_fd: int | None = None

    def _prepare(self) -> None:
        if shutil.which(QEMU_BINARY) is None:
            raise BoardError(f"{QEMU_BINARY} not found", hint="apt-get install qemu-system-arm")
        self.image = build_firmware(self.name, kernels=self.kernels)
        self._plugin = build_plugin() if self.profile else None
        self._insn_final = None

    def _launch(self, deadline: float) -> str:
        assert self.image is not None and self._run_dir is not None
        master, slave = os.openpty()
        # We keep both ends until the board is released: the slave so QEMU never reads EIO
        # between clients, the master so the last bytes QEMU wrote before exiting (the
        # "ok" of `exit`, a FAULT line) stay readable; a pty loses queued bytes when its
        # last master closes.
        self._held_fd = slave
        self._master_fd = master
        tty.setraw(slave, termios.TCSANOW)
        port = os.ttyname(slave)
        self._spawn(self._command(master), cwd=self.state_dir or self._run_dir, pass_fds=(master,))
        self._monitor = QemuMonitor.connect(self._run_dir / "monitor.sock", deadline, self._check_alive)
        self._monitor.command("cont")
        return port

    def _command(self, master_fd: int) -> list[str]:
        assert self.image is not None and self._run_dir is not None
        semihosting = "enable=on,target=native"
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            semihosting += f",arg=dcfw,arg=flash={FLASH_FILE}"
        argv = [
            QEMU_BINARY, "-M", self.machine.machine, "-kernel", str(self.image.path),
            "-nodefaults", "-display", "none", "-nic", "none", "-S",
            "-add-fd", f"fd={master_fd},set=1",
            "-chardev", "serial,id=uart0,path=/dev/fdset/1", "-serial", "chardev:uart0",
            "-chardev", f"socket,id=mon,path={self._run_dir / 'monitor.sock'},server=on,wait=off",
            "-mon", "chardev=mon,mode=readline",
            "-icount", "shift=0,align=off",
            "-semihosting-config", semihosting,
        ]
        if self._plugin is not None:
            self._insn_path = self._run_dir / "insn.log"
            fn_addr, fn_size = self.image.symbol("dc_port_profile_mark")
            marks, _ = self.image.symbol("dc_mps2_profile_marks")
            argv += ["-plugin", f"{self._plugin},log={self._insn_path},markfn={fn_addr:#x},"
                     f"markfnsize={fn_size:#x},marks={marks:#x}"]
        return argv

    def instructions(self) -> InstructionLog:
        """The instruction counts: live marks while running; totals too once QEMU ended.

        Raises BoardError when the board runs without the plugin or never started.
        """
        if self._insn_final is not None:
            return self._insn_final
        if self._insn_path is None or not self._insn_path.is_file():
            raise BoardError(f"board {self.name} has no instruction counts (profile=False or not started)")
        return read_instruction_log(self._insn_path)

    def _on_release(self) -> None:
        if self._master_fd is not None:
            os.close(self._master_fd)
            self._master_fd = None
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
        if self._insn_path is not None and self._insn_path.is_file():
            self._insn_final = read_instruction_log(self._insn_path)
        self._insn_path = None
