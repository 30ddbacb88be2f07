"""A real board on a serial port, its firmware built and uploaded by PlatformIO.

flash_firmware() runs `pio run -d PROJECT -e ENV -t upload --upload-port PORT` (PROJECT: the
resource's `pio_project`, default the `firmware/` directory that holds platformio.ini);
power_on() waits until the firmware answers `version` on the console. The device's own
`insn`/`cycles` (DWT) in each inference response are its counts; energy needs a meter.
Every missing piece (pio, platformio.ini, the environment, the port) is a DriverError that
says what to install or connect.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from dcagent.errors import DeviceError, TransportError
from hil.drivers.base import FirmwareInfo
from hil.drivers.link import LinkDriver
from hil.errors import DriverError, StepTimeoutError

PIO_PROGRAMS = ("pio", "platformio")


def find_pio(path: str | None = None) -> str:
    """The PlatformIO executable. Raises DriverError when it is not installed."""
    for program in PIO_PROGRAMS:
        found = shutil.which(program, path=path)
        if found:
            return found
    raise DriverError("PlatformIO is not installed (no `pio` on PATH)", hint="pip install platformio")


class PlatformioDriver(LinkDriver):
    """See module docstring."""

    reports_cycles = True

    def __init__(self, resource, **kwargs) -> None:
        super().__init__(resource, **kwargs)
        self._log: list[str] = []
        self._on = False

    def _project(self) -> Path:
        if self.resource.pio_project:
            return Path(self.resource.pio_project)
        from dcagent.boards.firmware import firmware_dir
        return firmware_dir()

    def upload_command(self) -> list[str]:
        """The command flash_firmware() runs. Raises DriverError for a missing tool or setting."""
        if not self.resource.pio_env:
            raise DriverError(f"board {self.name}: no PlatformIO environment (`pio_env`)")
        if not self.resource.port:
            raise DriverError(f"board {self.name}: no serial port (`port`)")
        project = self._project()
        if not (project / "platformio.ini").is_file():
            raise DriverError(f"board {self.name}: {project}/platformio.ini not found",
                              hint="set `pio_project` to the directory holding platformio.ini")
        return [find_pio(), "run", "-d", str(project), "-e", self.resource.pio_env, "-t", "upload",
                "--upload-port", self.resource.port]

    def flash_firmware(self, timeout_s: float) -> FirmwareInfo:
        command = self.upload_command()
        if not os.path.exists(self.resource.port):
            raise DriverError(f"board {self.name}: no device at {self.resource.port}",
                              hint="connect the board (or set `port`) and check the udev permissions")
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise StepTimeoutError("flash firmware (pio upload)", timeout_s) from exc
        self._log.append(result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
            raise DriverError(f"pio upload for {self.name} failed (exit {result.returncode}):\n{tail}")
        build = self._project() / ".pio" / "build" / self.resource.pio_env / "firmware.elf"
        return FirmwareInfo(image=str(build))

    def power_on(self, timeout_s: float) -> None:
        """Wait for the firmware to answer `version` (the board is powered over USB or by a meter)."""
        deadline = time.monotonic() + timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                answer = self.console("version", timeout_s=min(2.0, max(0.1, deadline - time.monotonic())))
                self._log.append(f"version: {answer}")
                self._on = True
                return
            except (TransportError, DeviceError) as exc:
                last = exc
                time.sleep(0.2)
        raise StepTimeoutError(f"power on {self.name} (no answer to `version`: {last})", timeout_s)

    def power_off(self) -> None:
        self._on = False  # the board stays powered by USB; a meter (strategy) cuts its supply

    @property
    def port(self) -> str:
        if not self.resource.port:
            raise DriverError(f"board {self.name}: no serial port (`port`)")
        return self.resource.port

    def logs(self) -> str:
        uart = self.uart_transcript()
        return "\n".join(self._log) + (f"\n--- UART (console) ---\n{uart}\n" if uart else "")
