"""The device link: SMP over a serial port to dcagent firmware (docs/protocol.md).

    from dcagent.link import flash, read_state, provision
    provision(port, key)                                   # once per device (console)
    provision_fleet(port, pub, "mqtt://dev:pw@host", "alpha")  # optional: trust a publisher, own MQTT agent
    provision_tls(port, ca_der, cert_der, key_der)         # optional: for mqtts:// (CA, client cert)
    report = flash(port, open("m.dcb", "rb").read(), confirm=True, device_key=key)
    read_state(port)                                       # [SlotState(...), ...]
    infer(port, x)                                         # [InferResult(output, ...), ...]
    info, dcb = running_model(port)                        # what the device runs, read back

`flash` uploads to slot 1 (resuming from the device's offset after a dropped link), marks
the model for test, resets, waits for the device, and confirms it (or raises
RolledBackError). Every failure is a DeviceError (the device refused: the SMP error named)
or a TransportError (the link failed).
"""
from dcagent.link.console import console_command, console_model, provision, provision_fleet, provision_tls
from dcagent.link.flash import FlashProgress, FlashReport, RolledBackError, flash, flash_async, prepare_image
from dcagent.link.infer import DeviceModel, InferResult, infer, inference_instructions, running_model
from dcagent.link.relay import Relay
from dcagent.link.session import SmpSession
from dcagent.link.state import SlotState, read_state

__all__ = [
    "DeviceModel", "FlashProgress", "FlashReport", "InferResult", "Relay", "RolledBackError", "SlotState",
    "SmpSession", "console_command", "console_model", "flash", "flash_async", "infer", "inference_instructions",
    "prepare_image", "provision", "provision_fleet", "provision_tls", "read_state", "running_model",
]
