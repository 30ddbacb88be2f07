"""Turn SMP error responses into DeviceError with readable names (docs/protocol.md, "Errors")."""
from __future__ import annotations

from smp import error as smperror
from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR

from dcagent.errors import DeviceError
from dcagent.link.model_group import GROUP_MODEL

#: smp's image-group number.
GROUP_IMAGE = 1


def status_name(code: int) -> str:
    """The dc_status_t name of `code` (e.g. -70 -> DC_ERR_ARENA)."""
    try:
        from host._status import status_name  # noqa: PLC0415 - the C names, when built
    except ImportError:  # pragma: no cover - extension not built
        return f"dc_status {code}"
    return status_name(code)


def error_text(response: object) -> tuple[str, int | None]:
    """(a readable description, the numeric code) of an SMP error response."""
    if isinstance(response, smperror.ErrorV2):
        group, rc = response.err.group, int(response.err.rc)
        if group == GROUP_IMAGE:
            try:
                return f"image group error {IMG_MGMT_ERR(rc).name} ({rc})", rc
            except ValueError:
                return f"image group error {rc}", rc
        if group == GROUP_MODEL:
            return f"model group error {status_name(-rc)} ({rc})", rc
        return f"group {group} error {rc}", rc
    rc = getattr(response, "rc", None)
    if rc is not None:
        rc = int(rc)
        try:
            return f"SMP error {MGMT_ERR(rc).name} ({rc})", rc
        except ValueError:
            return f"SMP error {rc}", rc
    return f"unexpected response {response!r}", None


def device_error(what: str, response: object, *, hint: str | None = None) -> DeviceError:
    """A DeviceError for `what` failing with the SMP error `response`."""
    text, code = error_text(response)
    return DeviceError(f"{what}: {text}", code=code, hint=hint)
