"""CONCATENATION along `axis` (negative counts from the end).

int8 inputs must share the output's quantization (as TFLite requires for int8), so the values
are copied unchanged; a fused activation clamps the result.
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, activation_float, activation_range_int8


def evaluate(ctx: OpContext) -> np.ndarray:
    parts = [ctx.value(i) for i in range(len(ctx.op.inputs))]
    rank = parts[0].ndim
    axis = ctx.op.options.axis
    if not -rank <= axis < rank:
        raise ctx.fail(f"axis {axis} out of range for rank {rank}")
    out = np.concatenate(parts, axis=axis)
    if ctx.output.dtype.value == "int8":
        low, high = activation_range_int8(ctx.op.options.activation, ctx.output)
        return np.clip(out, low, high).astype(np.int8)
    return activation_float(ctx.op.options.activation, out.astype(np.float32))
