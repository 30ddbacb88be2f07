"""Board drivers: behaviour for each board kind (hil/resources.py describes the boards).

    driver = create_driver(board_resource("qemu-m4"))
    driver.flash_firmware(60); driver.power_on(30)
    driver.load_model(dcb_bytes, 30)
    with driver.session(10) as s: s.run(input_bytes)      # Inference(output, instructions, ...)
    driver.power_off()
"""
from __future__ import annotations

from hil.drivers.base import BoardDriver, FirmwareInfo, Inference, InferenceSession, LoadedModel
from hil.errors import DriverError
from hil.resources import BoardResource


def create_driver(resource: BoardResource, *, device_key: bytes | None = None) -> BoardDriver:
    """The driver for `resource.kind`. Raises DriverError for a kind without a driver."""
    kwargs = {} if device_key is None else {"device_key": device_key}
    if resource.kind == "host":
        from hil.drivers.host import HostDriver
        return HostDriver(resource)
    if resource.kind == "native":
        from hil.drivers.native import NativeDriver
        return NativeDriver(resource, **kwargs)
    if resource.kind == "qemu":
        from hil.drivers.qemu import QemuDriver
        return QemuDriver(resource, **kwargs)
    if resource.kind == "serial":
        from hil.drivers.platformio import PlatformioDriver
        return PlatformioDriver(resource, **kwargs)
    raise DriverError(f"no driver for board kind {resource.kind!r}")


__all__ = ["BoardDriver", "FirmwareInfo", "Inference", "InferenceSession", "LoadedModel", "create_driver"]
