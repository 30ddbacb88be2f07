"""The firmware's C model runtime (firmware/lib/include/dc_model.h) on the host, with numpy in and out.

The same C code the device runs: graph builder, memory planner, weight decoding, int8 kernels.
Used to check a container before delivery (outputs equal the reference interpreter's) and to
size the arena a device needs.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from host import _runtime
from host.errors import BitstreamError, DataError, ModelError

# Statuses of the container reader (a file that does not open) vs the runtime (a graph it cannot run).
_CONTAINER_STATUSES = {"DC_ERR_MAGIC", "DC_ERR_VERSION", "DC_ERR_TRUNCATED", "DC_ERR_FIELD", "DC_ERR_OVERSIZE",
                       "DC_ERR_LENGTH", "DC_ERR_SIGNATURE", "DC_ERR_AUTH", "DC_ERR_HASH", "DC_ERR_METADATA",
                       "DC_ERR_TENSOR", "DC_ERR_BASE"}


class RuntimeStatusError(ModelError):
    """The C runtime refused a model or failed to run it; `status` is its dc_status_t name."""

    def __init__(self, message: str, *, status: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class DecodeMode(enum.IntEnum):
    """When weights are decoded (dc_model_mode_t)."""

    AT_LOAD = _runtime.MODE_AT_LOAD        # all weights into the arena at load: most RAM, fastest
    PER_LAYER = _runtime.MODE_PER_LAYER    # each op's weights just before it runs: less RAM
    STREAMED = _runtime.MODE_STREAMED      # conv/FC weights a chunk of output channels at a time: least RAM
    AUTO = _runtime.MODE_AUTO              # load: the first of the three that fits; arena_size: the least


class Device(enum.IntEnum):
    """The device an arena is sized for (dc_model_target_t)."""

    HOST = _runtime.TARGET_BUILD                  # this host's build: 64-bit tables, reference kernels
    CORTEX_M = _runtime.TARGET_CORTEX_M           # a Cortex-M board with the reference kernels (qemu-m4-ref)
    CORTEX_M_DSP = _runtime.TARGET_CORTEX_M_DSP   # a Cortex-M board with the armv7em DSP kernels (qemu-m4/m7/m33)


STREAM_CHANNELS = _runtime.STREAM_CHANNELS  # output channels per chunk in STREAMED mode unless told otherwise


def _raise(status: str, what: str) -> None:
    if status in _CONTAINER_STATUSES:
        raise BitstreamError(f"{what}: {status}", status=status)
    raise RuntimeStatusError(f"{what}: {status}", status=status)


def _channels(stream_channels: int | None) -> int:
    if stream_channels is None:
        return 0
    if not 1 <= int(stream_channels) <= 65535:
        raise ValueError(f"stream_channels must be in [1, 65535], got {stream_channels}")
    return int(stream_channels)


def arena_size(container: bytes, mode: DecodeMode = DecodeMode.PER_LAYER, *,
               stream_channels: int | None = None, device: Device = Device.HOST) -> int:
    """Bytes of arena the model in `container` needs in `mode` (dc_model_arena_size_config) on
    `device`; `stream_channels`: output channels per chunk in STREAMED mode (default
    STREAM_CHANNELS). A Cortex-M's tables hold 4-byte pointers (its firmware build checks the
    record sizes the host sizes with) and its DSP kernels ask for CONV_2D scratch.

    Raises BitstreamError for a container that does not open, RuntimeStatusError for a graph
    the runtime cannot build (DC_ERR_GRAPH, DC_ERR_OP, DC_ERR_OPTION, DC_ERR_SHAPE, ...),
    ValueError for stream_channels outside [1, 65535]."""
    status, size = _runtime.arena_size(bytes(container), int(mode), _channels(stream_channels), int(device))
    if status != "DC_OK":
        _raise(status, "the runtime cannot size this model")
    return int(size)


@dataclass(frozen=True)
class TensorSpec:
    """Shape and per-tensor quantization of a graph input or output."""

    shape: tuple[int, ...]
    scale: float
    zero_point: int


class Runtime:
    """One model loaded by the C runtime into its own arena."""

    def __init__(self, container: bytes, mode: DecodeMode = DecodeMode.PER_LAYER, *, arena: int | None = None,
                 stream_channels: int | None = None):
        """Load `container` with an arena of `arena` bytes (default: exactly what it needs; with
        AUTO the least of the three modes). `mode` is then the mode loaded (AUTO resolved).
        `stream_channels`: output channels per chunk in STREAMED mode (default STREAM_CHANNELS).

        Raises BitstreamError / RuntimeStatusError (DC_ERR_ARENA when `arena` is too small;
        `needed` on the error tells how much is), ValueError for a bad stream_channels."""
        data = bytes(container)
        channels = _channels(stream_channels)
        size = arena_size(data, mode, stream_channels=stream_channels) if arena is None else int(arena)
        status, model, needed = _runtime.load(data, int(DecodeMode(mode)), size, channels)
        if status != "DC_OK":
            try:
                _raise(status, f"the runtime cannot load this model (arena {size} bytes, needs {needed})")
            except RuntimeStatusError as exc:
                exc.needed = needed
                raise
        self._model = model
        self.info = model.info()
        self.mode = DecodeMode(self.info["mode"])
        self.inputs = [TensorSpec(tuple(s), scale, zp) for s, scale, zp in model.inputs()]
        self.outputs = [TensorSpec(tuple(s), scale, zp) for s, scale, zp in model.outputs()]
        self.op_names = model.op_names()

    @property
    def arena_bytes(self) -> int:
        return int(self.info["arena_needed"])

    @property
    def chunks(self) -> list[int]:
        """Output channels per chunk of each op's streamed weights (STREAMED; 0 where an op does not
        stream): the least arena's chunks, larger when the arena holds more (at most stream_channels)."""
        return list(self._model.chunks())

    def run(self, inputs: list[np.ndarray], *, layers: bool = False):
        """Run once. Returns the outputs (int8 arrays), or with `layers` (outputs, every op's
        output as a flat int8 array). Raises DataError for inputs of the wrong count, dtype or
        shape; RuntimeStatusError for a failing op."""
        if len(inputs) != len(self.inputs):
            raise DataError(f"the model takes {len(self.inputs)} inputs, got {len(inputs)}")
        raw = []
        for position, (value, spec) in enumerate(zip(inputs, self.inputs)):
            value = np.asarray(value)
            if value.dtype != np.int8 or tuple(value.shape) != spec.shape:
                raise DataError(f"input {position} must be int8 of shape {spec.shape}, got {value.dtype} "
                                f"{tuple(value.shape)}")
            raw.append(np.ascontiguousarray(value).tobytes())
        status, outputs, op_outputs = self._model.invoke(raw, layers)
        if status != "DC_OK":
            _raise(status, "inference failed")
        result = [np.frombuffer(b, dtype=np.int8).reshape(spec.shape) for b, spec in zip(outputs, self.outputs)]
        if layers:
            return result, [np.frombuffer(b, dtype=np.int8) for b in op_outputs]
        return result
