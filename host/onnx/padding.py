"""Spatial attributes of ONNX Conv/pooling nodes, and the TFLite padding that computes the same.

ONNX gives explicit pads (or auto_pad); TFLite has VALID (no padding) and SAME (out =
ceil(in / stride), total padding split with the extra row/column at the end). An ONNX window
equals a TFLite one when both start at the same offset (the leading pad) and produce the same
number of outputs; trailing pad the windows never reach makes no difference.
"""
from __future__ import annotations

from dataclasses import dataclass

from host.graph import Padding
from host.onnx.lowering import Node, Refused


@dataclass(frozen=True)
class Window:
    """A 2-D sliding window over an NCHW input: sizes, strides, dilations, pads, output size."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    begin: tuple[int, int]
    end: tuple[int, int]
    out: tuple[int, int]

    @property
    def effective(self) -> tuple[int, int]:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilations))

    def tflite_padding(self, inputs: tuple[int, int]) -> Padding | None:
        """VALID or SAME when one computes exactly these windows, else None."""
        if self.begin == (0, 0) and self.out == tuple(
                (i - e) // s + 1 for i, e, s in zip(inputs, self.effective, self.strides)):
            return Padding.VALID
        same_out = tuple(-(-i // s) for i, s in zip(inputs, self.strides))
        same_begin = tuple(max((o - 1) * s + e - i, 0) // 2
                           for o, s, e, i in zip(same_out, self.strides, self.effective, inputs))
        if self.out == same_out and self.begin == same_begin:
            return Padding.SAME
        return None


def _pair(node: Node, name: str, default: int) -> tuple[int, int]:
    value = node.attr(name)
    if value is None:
        return (default, default)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise Refused(f"{name}={list(value)}: only 2-D windows are supported")
    return value


def window(node: Node, inputs: tuple[int, int], kernel: tuple[int, int], *, ceil_mode: bool = False) -> Window:
    """The window of a Conv/MaxPool/AveragePool node over an input of spatial size `inputs`.

    Raises Refused for non-2-D attributes, negative pads, non-positive sizes or an empty output.
    """
    strides = _pair(node, "strides", 1)
    dilations = _pair(node, "dilations", 1)
    if min(strides + dilations + kernel) < 1:
        raise Refused(f"kernel {kernel}, strides {strides} and dilations {dilations} must be positive")
    effective = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilations))
    auto_pad = node.attr("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = tuple(-(-i // s) for i, s in zip(inputs, strides))
        total = tuple(max((o - 1) * s + e - i, 0) for o, s, e, i in zip(out, strides, effective, inputs))
        small = tuple(t // 2 for t in total)
        begin = small if auto_pad == "SAME_UPPER" else tuple(t - h for t, h in zip(total, small))
        end = tuple(t - b for t, b in zip(total, begin))
    elif auto_pad == "VALID":
        begin = end = (0, 0)
    elif auto_pad == "NOTSET":
        pads = node.attr("pads")
        pads = (0, 0, 0, 0) if pads is None else tuple(int(p) for p in pads)
        if len(pads) != 4:
            raise Refused(f"pads={list(pads)}: only 2-D windows are supported")
        if min(pads) < 0:
            raise Refused(f"negative pads {list(pads)} are not supported")
        begin, end = pads[:2], pads[2:]
    else:
        raise Refused(f"auto_pad={auto_pad!r} is not supported")
    span = tuple(i + b + e - k for i, b, e, k in zip(inputs, begin, end, effective))
    if min(span) < 0:
        raise Refused(f"window {effective} is larger than the padded input {inputs}")
    if ceil_mode:
        out = tuple(-(-s // st) + 1 for s, st in zip(span, strides))
        # ONNX drops a last window that would start in the end padding.
        out = tuple(o - 1 if (o - 1) * st >= i + b else o for o, st, i, b in zip(out, strides, inputs, begin))
    else:
        out = tuple(s // st + 1 for s, st in zip(span, strides))
    return Window(kernel, strides, dilations, tuple(begin), tuple(end), out)
