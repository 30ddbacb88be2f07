"""The `host` board: the firmware's C runtime compiled into the host extension (host.runtime).

The same graph builder, planner, decoder and kernels the firmware runs, called in-process: no
link, no instruction counts. Useful to check a suite and a model's accuracy without firmware.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np

from hil.drivers.base import BoardDriver, FirmwareInfo, Inference, InferenceSession, LoadedModel


class _HostSession(InferenceSession):
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.spec = runtime.inputs[0]

    def run(self, data: bytes) -> Inference:
        x = np.frombuffer(data, dtype=np.int8).reshape(self.spec.shape)
        began = time.perf_counter()
        outputs = self.runtime.run([x])
        return Inference(output=outputs[0].tobytes(), wall_s=time.perf_counter() - began)


class HostDriver(BoardDriver):
    """See module docstring. load_model raises BitstreamError/RuntimeStatusError (host.runtime)."""

    def __init__(self, resource) -> None:
        super().__init__(resource)
        self._runtime = None
        self._powered = False

    def flash_firmware(self, timeout_s: float) -> FirmwareInfo:
        from host import _runtime  # the extension is the "firmware"
        return FirmwareInfo(image=str(_runtime.__file__))

    def power_on(self, timeout_s: float) -> None:
        self._powered = True

    def power_off(self) -> None:
        self._powered = False
        self._runtime = None

    def load_model(self, container: bytes, timeout_s: float) -> LoadedModel:
        from host.runtime import Runtime
        self._runtime = Runtime(container)
        return LoadedModel(container_bytes=len(container), arena_bytes=self._runtime.arena_bytes,
                           arena_source="host runtime")

    @contextlib.contextmanager
    def session(self, timeout_s: float) -> Iterator[InferenceSession]:
        if self._runtime is None:
            from hil.errors import DriverError
            raise DriverError("host board: no model loaded")
        yield _HostSession(self._runtime)
