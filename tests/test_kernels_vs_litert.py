"""Every operator of the four MLPerf Tiny int8 models: our C kernel == LiteRT, layer by layer.

LiteRT runs each model with `experimental_preserve_all_tensors` on seeded random int8 inputs;
each op's actual input tensors go through our kernel (host._kernels) with parameters derived
from the model (tests/kernel_runner.py) and the output must equal LiteRT's exactly. Two LiteRT
resolvers are checked: its reference kernels (BUILTIN_REF) and its default builtin kernels
without the XNNPACK delegate (BUILTIN_WITHOUT_DEFAULT_DELEGATES); the default AUTO mode hands
most ops to XNNPACK, whose float requantization is outside TFLite's integer spec (docs/kernels.md).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from kernel_runner import LITERT_OPTIMIZED, LITERT_REFERENCE, first_mismatch, run_op
from tflite_options import read_operator_options

litert = pytest.importorskip("ai_edge_litert.interpreter")

MODELS = ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"]
SEEDS = [0, 1, 2]
RESOLVERS = {
    "reference": (litert.OpResolverType.BUILTIN_REF, LITERT_REFERENCE),
    "optimized": (litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, LITERT_OPTIMIZED),
}
# The layer counts of the four models (their README), so a silently skipped op cannot pass.
EXPECTED_OPS = {"kws_ref_model": 13, "pretrainedResnet_quant": 16, "vww_96_int8": 31, "ad01_int8": 10}


@pytest.mark.slow
@pytest.mark.parametrize("resolver", sorted(RESOLVERS))
@pytest.mark.parametrize("model_name", MODELS)
def test_every_layer_equals_litert(mlperf_tiny, model_name, resolver):
    resolver_type, rounding = RESOLVERS[resolver]
    model = (mlperf_tiny / f"{model_name}.tflite").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = litert.Interpreter(model_content=model, experimental_preserve_all_tensors=True,
                                    experimental_op_resolver_type=resolver_type)
    interp.allocate_tensors()
    ops = interp._get_ops_details()
    assert len(ops) == EXPECTED_OPS[model_name]
    options = read_operator_options(model, [o["op_name"] for o in ops])
    (inp,) = interp.get_input_details()
    for seed in SEEDS:
        x = np.random.default_rng(seed).integers(-128, 128, size=inp["shape"], dtype=np.int8)
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        for op, opts in zip(ops, options):
            result = run_op(interp, op, opts, rounding)
            mismatch = first_mismatch(result.ours, result.theirs)
            assert mismatch is None, (
                f"{model_name} seed {seed} op {op['index']} {op['op_name']} ({resolver}): {mismatch}")
