"""Op options of the graph IR as the metadata `options` of a node, and back (docs/bitstream.md 4.2).

Each node's options hold two kinds of entries:

* IR fields: the IR options dataclass, field by field (`padding`, `stride_h`, `activation`, ...),
  enums as their text. They make `unpack` give back the same `host.graph` options.
* Derived fields: what the device needs but the IR leaves implicit, computed here from the
  graph exactly as the reference interpreter computes them: activation clamp bounds
  (`act_min`/`act_max`), the requantization `rounding`, the logistic `lut` (the reference
  kernel's output for each of the 256 inputs), PAD's `paddings` and MEAN's `axes` (copied from
  their constant operands so the device never decodes those). SOFTMAX needs none: the device
  derives its fixed-point parameters from `beta` and the input scale, as TFLite does.

`node_options` writes both, leaving out every option equal to its documented default
(`OPTION_DEFAULTS`, `ROUNDING`; docs/bitstream.md section 4.1), and the logistic LUT as a
byte string; `op_options` reads the IR fields back (absent ones take their defaults) and
`check_derived` checks that the derived fields are what this graph derives (a container whose
device-side parameters disagree with its own graph is rejected rather than run differently on
host and device).
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any

import numpy as np

from host.errors import BitstreamError, ModelError
from host.graph import OPTIONS_TYPE, Activation, Graph, Op, OpKind, Padding

# Rounding of the Q31 requantization per op kind (docs/kernels.md): LiteRT's reference kernels.
ROUNDING = {OpKind.CONV_2D: "double", OpKind.DEPTHWISE_CONV_2D: "double", OpKind.FULLY_CONNECTED: "single",
            OpKind.QUANTIZE: "double"}
# Kinds whose output is clamped by a fused activation (or, for RELU/RELU6, by the op itself).
_CLAMPED = {OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED, OpKind.AVERAGE_POOL_2D,
            OpKind.MAX_POOL_2D, OpKind.ADD, OpKind.MUL, OpKind.CONCATENATION, OpKind.RELU, OpKind.RELU6}
_SELF_ACTIVATION = {OpKind.RELU: Activation.RELU, OpKind.RELU6: Activation.RELU6}
LOGISTIC_LUT_LEN = 256
# Options left out of the metadata when equal to these values (docs/bitstream.md section 4.1);
# `rounding` is left out when it is its op's entry in ROUNDING. The device applies the same defaults.
OPTION_DEFAULTS: dict[str, Any] = {
    "padding": "VALID", "stride_h": 1, "stride_w": 1, "dilation_h": 1, "dilation_w": 1, "depth_multiplier": 1,
    "activation": "NONE", "keep_num_dims": False, "keep_dims": False, "beta": 1.0, "act_min": -128, "act_max": 127,
}


def _default(kind: OpKind, name: str) -> Any:
    """The default of option `name` of an op of `kind`, or None when it has none."""
    if name == "rounding":
        return ROUNDING.get(kind)
    return OPTION_DEFAULTS.get(name)


def _is_default(kind: OpKind, name: str, value: Any) -> bool:
    default = _default(kind, name)
    return default is not None and type(default) is type(value) and default == value


def _ir_fields(options: Any) -> dict[str, Any]:
    """The IR dataclass as plain option values (enums as text, tuples kept, None dropped)."""
    plain: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, (np.floating, float)):
            value = float(np.float32(value))
        elif isinstance(value, tuple):
            value = tuple(int(v) for v in value)
        plain[f.name] = value
    return plain


def _activation_of(op: Op) -> Activation:
    return _SELF_ACTIVATION.get(op.kind) or getattr(op.options, "activation", Activation.NONE)


def _constant(graph: Graph, op: Op, position: int, what: str) -> np.ndarray:
    index = op.inputs[position] if position < len(op.inputs) else -1
    if index < 0 or graph.tensors[index].data is None:
        raise ModelError(f"{op.kind.value}: the {what} operand must be a constant tensor")
    return np.asarray(graph.tensors[index].data).astype(np.int64).reshape(-1)


def logistic_lut(graph: Graph, op: Op) -> bytes:
    """LOGISTIC's output for every int8 input, by the reference interpreter's own kernel (TFLite's
    fixed-point reference_integer_ops::Logistic): entry (uint8)v is the output for input v, so
    the device's table look-up is exact by construction."""
    from host.reference.common import OpContext
    from host.reference.logistic import evaluate

    inputs = np.arange(-128, 128, dtype=np.int8)
    outputs = evaluate(OpContext(graph, op, 0, [inputs])).astype(np.int8)
    lut = np.empty(256, dtype=np.int8)
    lut[inputs.view(np.uint8)] = outputs
    return lut.tobytes()


def derived_options(graph: Graph, op: Op) -> dict[str, Any]:
    """The device-side parameters of `op` in `graph` (see the module docstring).

    Raises ModelError when an op lacks what they are computed from (a constant operand, a
    quantized int8 output).
    """
    from host.reference.common import activation_range_int8

    derived: dict[str, Any] = {}
    out = graph.tensors[op.outputs[0]]
    if op.kind in _CLAMPED:
        if out.quantization is None:
            raise ModelError(f"{op.kind.value}: output {out.name!r} is not quantized")
        derived["act_min"], derived["act_max"] = activation_range_int8(_activation_of(op), out)
    if op.kind in ROUNDING:
        derived["rounding"] = ROUNDING[op.kind]
    if op.kind is OpKind.LOGISTIC:
        derived["lut"] = logistic_lut(graph, op)
    if op.kind is OpKind.PAD:
        derived["paddings"] = tuple(int(v) for v in _constant(graph, op, 1, "paddings"))
    if op.kind is OpKind.MEAN:
        derived["axes"] = tuple(int(v) for v in _constant(graph, op, 1, "axes"))
    return derived


def full_options(graph: Graph, op: Op) -> dict[str, Any]:
    """Every option of `op`, defaults included: IR fields and derived fields. Raises ModelError."""
    options = _ir_fields(op.options)
    derived = derived_options(graph, op)
    clash = set(options) & set(derived)
    if clash:  # pragma: no cover - a programming error in the field names
        raise ModelError(f"option names {sorted(clash)} are both IR and derived fields")
    options.update(derived)
    return options


def node_options(graph: Graph, op: Op) -> dict[str, Any]:
    """The metadata options of `op`: IR and derived fields, those equal to their default left
    out. Raises ModelError."""
    return {k: v for k, v in full_options(graph, op).items() if not _is_default(op.kind, k, v)}


def _bad(where: str, message: str) -> BitstreamError:
    return BitstreamError(f"{where}: {message}", status="DC_ERR_METADATA")


def _convert(where: str, name: str, field_type: Any, value: Any) -> Any:
    """A metadata option value as the IR field's type."""
    text = str(field_type)
    if "Padding" in text:
        enum_type: type[enum.Enum] = Padding
    elif "Activation" in text:
        enum_type = Activation
    else:
        enum_type = None  # type: ignore[assignment]
    if enum_type is not None:
        try:
            return enum_type(value)
        except ValueError:
            raise _bad(where, f"option {name} is {value!r}, expected one of "
                       f"{', '.join(m.value for m in enum_type)}") from None
    if text.startswith("bool"):
        if not isinstance(value, bool):
            raise _bad(where, f"option {name} must be a bool, is {value!r}")
        return value
    if text.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(where, f"option {name} must be an int, is {value!r}")
        return value
    if text.startswith("float"):
        if not isinstance(value, float):
            raise _bad(where, f"option {name} must be a float, is {value!r}")
        return value
    if "tuple" in text:
        if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise _bad(where, f"option {name} must be an array of ints, is {value!r}")
        return value
    raise _bad(where, f"option {name} has an unexpected field type {text}")  # pragma: no cover


def op_options(kind: OpKind, options: dict[str, Any], where: str) -> Any:
    """The IR options dataclass of a node of `kind` from its metadata options (IR fields only).

    Missing IR fields take the dataclass default only where the IR has one that pack omits
    (`new_shape`); every other field must be present. Raises BitstreamError (DC_ERR_METADATA).
    """
    options_type = OPTIONS_TYPE[kind]
    values = {}
    for f in dataclasses.fields(options_type):
        if f.name not in options:
            if f.name == "new_shape":
                continue
            if _default(kind, f.name) is not None:
                values[f.name] = _convert(where, f.name, f.type, _default(kind, f.name))
                continue
            raise _bad(where, f"option {f.name} is missing")
        values[f.name] = _convert(where, f.name, f.type, options[f.name])
    return options_type(**values)


def check_derived(graph: Graph, op: Op, options: dict[str, Any], where: str) -> None:
    """Check that the metadata options carry exactly the derived fields `graph` gives `op`,
    and no unknown field. Raises BitstreamError (DC_ERR_METADATA) naming the first difference."""
    expected = full_options(graph, op)
    for name in options:
        if name not in expected:
            raise _bad(where, f"unknown option {name!r} for {op.kind.value}")
    for name, value in expected.items():
        if name not in options:
            if _is_default(op.kind, name, value):
                continue
            raise _bad(where, f"option {name} is missing")
        found = options[name]
        if isinstance(value, tuple) and isinstance(found, tuple):
            same = len(value) == len(found) and all(type(a) is type(b) and a == b for a, b in zip(value, found))
        else:
            same = type(found) is type(value) and found == value
        if not same:
            shown = repr(found) if len(repr(found)) < 60 else repr(found)[:57] + "..."
            raise _bad(where, f"option {name} is {shown}, the graph gives {value!r}"[:200])


__all__ = ["ROUNDING", "OPTION_DEFAULTS", "node_options", "full_options", "derived_options", "op_options",
           "check_derived"]
