"""DEQUANTIZE: int8 -> float32 as float(double(scale) * (q - zero_point)); float16 -> float32."""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    if x.dtype == np.float16:
        return x.astype(np.float32)
    scale, zero = scale_zero(ctx.tensor(0))
    return (np.float64(scale) * (x.astype(np.int64) - zero)).astype(np.float32)
