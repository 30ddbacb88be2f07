"""What every board with a serial port shares: model delivery and inference over SMP
(dcagent.link: docs/protocol.md "Model group (96)"), and the bring-up console.

Subclasses say where the port is (`port`) and may count instructions around each inference
(`_count_mark()` / `_counts_since()`; the QEMU driver reads the plugin's profile marks).
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import select
import time
from collections.abc import Iterator

from dcagent.errors import BoardError, DeviceError, TransportError
from dcagent.link import flash, provision
from dcagent.link.infer import infer_one
from dcagent.link.model_group import ModelInfo
from dcagent.link.session import LINK_ERRORS, SmpSession
from hil.drivers.base import BoardDriver, Inference, InferenceSession, LoadedModel, sized_by_host
from hil.resources import BoardResource

#: Device key the harness provisions on simulated boards (a test key: never use it on a product).
TEST_DEVICE_KEY = bytes.fromhex("6863696c2d746573742d6b65792d6e6f742d666f722d70726f64756374696f6e")


class _LinkSession(InferenceSession):
    """A synchronous face over one SmpSession with its own event loop."""

    def __init__(self, driver: "LinkDriver", timeout_s: float) -> None:
        self.driver = driver
        self.loop = asyncio.new_event_loop()
        self.smp = SmpSession(driver.port, timeout_s=timeout_s, baudrate=driver.resource.baud)
        self.timeout_s = timeout_s

    def open(self) -> None:
        self.loop.run_until_complete(self.smp.open(timeout_s=self.timeout_s))

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.smp.close())
        finally:
            self.loop.close()

    def run(self, data: bytes) -> Inference:
        mark = self.driver._count_mark()
        began = time.perf_counter()
        try:
            result = self.loop.run_until_complete(infer_one(self.smp, data))
        except LINK_ERRORS as exc:
            raise TransportError(f"inference on {self.driver.name}: link failed ({type(exc).__name__}: {exc})") from exc
        wall = time.perf_counter() - began
        instructions, layers = self.driver._counts_since(mark)
        if instructions is None and result.instructions:
            instructions = result.instructions
        cycles = result.cycles if (result.cycles and self.driver.reports_cycles) else None
        return Inference(output=result.output, instructions=instructions, cycles=cycles, layers=layers, wall_s=wall)


class LinkDriver(BoardDriver):
    """A board reached over a serial port with dcagent firmware on it."""

    #: True when the device's `cycles` are core clock cycles (real boards; not QEMU's virtual time).
    reports_cycles = False

    def __init__(self, resource: BoardResource, *, device_key: bytes = TEST_DEVICE_KEY) -> None:
        super().__init__(resource)
        self.device_key = device_key
        self._uart: list[str] = []

    @property
    def port(self) -> str:
        """The board's serial port. Raises BoardError when it is not powered on."""
        raise NotImplementedError

    def console(self, line: str, timeout_s: float) -> str:
        """One console command (docs/boards.md). Everything read is kept in the UART transcript
        (part of logs()), also when the board dies mid-answer (a FAULT line, then the port closes).
        Raises TransportError (no answer in time, port gone), DeviceError ("error: ..." answer)."""
        import serial  # noqa: PLC0415
        try:
            link = serial.Serial(self.port, self.resource.baud, timeout=0.05)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot open {self.port}: {exc}") from exc
        buf = b""
        try:
            link.reset_input_buffer()
            link.write(line.encode() + b"\n")
            self._uart.append(f"> {line}")
            deadline = time.monotonic() + timeout_s
            while b"\r\n" not in buf:
                if time.monotonic() > deadline:
                    raise TransportError(f"no answer to {line!r} from {self.name} within {timeout_s:g} s")
                # select + os.read, not link.read(n): pyserial drops the bytes of a read call that
                # then sees the port close, and those are the FAULT line of a crashing board
                readable, _, _ = select.select([link.fileno()], [], [], 0.05)
                if readable:
                    chunk = os.read(link.fileno(), 4096)
                    if not chunk:
                        raise TransportError(f"{self.name}: the port closed during {line!r}")
                    buf += chunk
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.name}: the port failed during {line!r}: {exc}") from exc
        finally:
            if buf:
                self._uart.append(buf.decode(errors="replace").rstrip())
            link.close()
        answer = buf.split(b"\r\n", 1)[0].decode(errors="replace")
        if answer.startswith("error: "):
            raise DeviceError(f"{line.split()[0]}: {answer[len('error: '):]}")
        return answer

    def uart_transcript(self) -> str:
        """Console lines sent ("> ...") and what the board answered, in order."""
        return "\n".join(self._uart)

    def load_model(self, container: bytes, timeout_s: float) -> LoadedModel:
        """Provision the device key (idempotent), flash + confirm the model, read model info."""
        provision(self.port, self.device_key, timeout_s=min(timeout_s, 5.0))
        report = flash(self.port, container, confirm=True, device_key=self.device_key,
                       timeout_s=min(timeout_s, 5.0), reset_timeout_s=timeout_s, erase_timeout_s=timeout_s)
        notes = [f"flashed {report.size} bytes (version {report.version}) in {report.total_s:.2f} s"]
        arena = self._device_arena(timeout_s)
        if arena is not None:
            return LoadedModel(container_bytes=len(container), arena_bytes=arena, arena_source="device", notes=notes)
        return sized_by_host(self.resource, container, notes)

    def model_info(self, timeout_s: float):
        """The board's answer to SMP "model info" (slot, version, hash, trial, arena). Raises
        TransportError when the link fails, DeviceError when the board answers an error."""
        async def ask():
            async with SmpSession(self.port, timeout_s=min(timeout_s, 5.0), baudrate=self.resource.baud) as smp:
                return await smp.request(ModelInfo(), "model info")
        try:
            return asyncio.run(ask())
        except LINK_ERRORS as exc:
            raise TransportError(f"model info on {self.name}: link failed ({exc!r})") from exc

    def _device_arena(self, timeout_s: float) -> int | None:
        info = self.model_info(timeout_s)
        return None if info.arena_bytes is None else int(info.arena_bytes)

    @contextlib.contextmanager
    def session(self, timeout_s: float) -> Iterator[InferenceSession]:
        session = _LinkSession(self, timeout_s)
        try:
            session.open()
            yield session
        finally:
            session.close()

    # ---- instruction counts (QEMU overrides) ----

    def _count_mark(self) -> object:
        return None

    def _counts_since(self, mark: object) -> tuple[int | None, tuple[int, ...] | None]:
        return None, None


def require_running(board, name: str) -> str:
    """The port of a running dcagent.boards board, else BoardError (with its log)."""
    if board is None or board.port is None or not board.is_running:
        log = "" if board is None else board.logs().strip()[-2000:]
        raise BoardError(f"board {name} is not running" + (f":\n{log}" if log else ""))
    return board.port
