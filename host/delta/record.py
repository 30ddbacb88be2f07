"""The `extensions.delta` record of a delta container (docs/delta.md): read and written here only.

```
"delta": {
  "format": 1,
  "full": {"content_sha256": bytes 32, "key_id": bytes 0|16, "length": uint, "signature": bytes 0|64},
  "metadata": [* operation],          ; host.delta.patch: the base metadata -> the full metadata
  "tensors": [* null / [codec, residual, *coder parameters]]   ; host.coder.CoderParams.to_ints()
}
```
`tensors[i]` null: the delta's payload i IS the full container's payload i. Otherwise the
delta's tensor i gives the full tensor's levels (decoded against the base when the entry has
TENSOR_FLAG_DELTA; with `residual` = 1 the decoded values are added to the base levels), and
the full payload is those levels coded with `codec` (0 raw, 1 cabac with the coder
parameters, `host.coder.PARAM_COUNT` integers; zeros for raw).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from host.coder import PARAM_COUNT, CoderParams, PredMode
from host.container.layout import Codec
from host.errors import BitstreamError

FORMAT = 1
KEY = "delta"


@dataclass(frozen=True)
class TensorRecipe:
    """How the full container's payload of one tensor is rebuilt from the delta's levels."""

    codec: Codec
    residual: bool
    params: CoderParams | None   # cabac only

    def to_plain(self) -> list[int]:
        p = self.params.to_ints() if self.params is not None else [0] * PARAM_COUNT
        return [int(self.codec), int(self.residual), *p]


@dataclass(frozen=True)
class DeltaRecord:
    """What a delta container adds to its metadata, besides the full model's identity."""

    metadata_ops: list
    tensors: tuple[TensorRecipe | None, ...]
    full_content_sha256: bytes
    full_key_id: bytes
    full_signature: bytes
    full_length: int

    def to_plain(self) -> dict[str, Any]:
        return {"format": FORMAT, "metadata": self.metadata_ops,
                "tensors": [None if t is None else t.to_plain() for t in self.tensors],
                "full": {"content_sha256": self.full_content_sha256, "key_id": self.full_key_id,
                         "length": self.full_length, "signature": self.full_signature}}


def _bad(message: str) -> BitstreamError:
    return BitstreamError(f"extensions.{KEY}: {message}", status="DC_ERR_METADATA")


def _bytes(value: Any, name: str, lengths: tuple[int, ...]) -> bytes:
    if not isinstance(value, bytes) or len(value) not in lengths:
        raise _bad(f"{name} must be a byte string of {' or '.join(map(str, lengths))} bytes")
    return value


def _recipe(value: Any, index: int) -> TensorRecipe | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2 + PARAM_COUNT or not all(type(v) is int for v in value):
        raise _bad(f"tensors[{index}] must be null or {2 + PARAM_COUNT} integers")
    codec, residual, *params = value
    if codec not in (int(Codec.RAW), int(Codec.CABAC)) or residual not in (0, 1):
        raise _bad(f"tensors[{index}]: codec {codec} / residual {residual} unknown")
    if codec == int(Codec.RAW):
        return TensorRecipe(Codec.RAW, bool(residual), None)
    try:
        coder = CoderParams.from_ints(params)
    except ValueError as exc:
        raise _bad(f"tensors[{index}]: coder parameters {params}: {exc}") from exc
    if coder.pred_mode == PredMode.BASE:
        raise _bad(f"tensors[{index}]: a full container's payload cannot predict from a base")
    return TensorRecipe(Codec.CABAC, bool(residual), coder)


def read_record(extensions: dict | None) -> DeltaRecord:
    """The delta record of a delta container's metadata extensions. Raises BitstreamError."""
    value = (extensions or {}).get(KEY)
    if not isinstance(value, dict):
        raise _bad("missing: this delta was not written by host.delta (no recipe for the full model)")
    if set(value) != {"format", "full", "metadata", "tensors"}:
        raise _bad(f"keys are {sorted(value)}, expected format, full, metadata, tensors")
    if value["format"] != FORMAT:
        raise _bad(f"format {value['format']!r}, this reader reads {FORMAT}")
    full = value["full"]
    if not isinstance(full, dict) or set(full) != {"content_sha256", "key_id", "length", "signature"}:
        raise _bad("full must hold content_sha256, key_id, length, signature")
    if type(full["length"]) is not int or full["length"] < 0:
        raise _bad("full.length must be an unsigned integer")
    key_id = _bytes(full["key_id"], "full.key_id", (0, 16))
    signature = _bytes(full["signature"], "full.signature", (0, 64))
    if bool(key_id) != bool(signature):
        raise _bad("full.key_id and full.signature must both be set or both be empty")
    if not isinstance(value["metadata"], list) or not isinstance(value["tensors"], list):
        raise _bad("metadata and tensors must be arrays")
    return DeltaRecord(metadata_ops=value["metadata"],
                       tensors=tuple(_recipe(v, i) for i, v in enumerate(value["tensors"])),
                       full_content_sha256=_bytes(full["content_sha256"], "full.content_sha256", (32,)),
                       full_key_id=key_id, full_signature=signature, full_length=full["length"])
