"""RESHAPE: the same values in the output tensor's shape (quantization unchanged)."""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    shape = ctx.output.shape
    if int(np.prod(shape, dtype=np.int64)) != x.size:
        raise ctx.fail(f"cannot reshape {x.shape} to {shape}")
    return x.reshape(shape)
