"""PAD: constant padding with the output zero point (int8) or 0.0 (float32).

The second operand is a constant [rank, 2] tensor of (before, after) counts per dimension.
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero


def evaluate(ctx: OpContext) -> np.ndarray:
    x, paddings = ctx.value(0), ctx.value(1)
    if paddings.shape != (x.ndim, 2) or np.any(paddings < 0):
        raise ctx.fail(f"paddings of shape {paddings.shape} do not fit an input of rank {x.ndim}")
    value = scale_zero(ctx.output)[1] if ctx.output.dtype.value == "int8" else 0
    return np.pad(x, [(int(a), int(b)) for a, b in paddings], constant_values=value)
