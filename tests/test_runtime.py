"""The C model runtime (firmware/lib/include/dc_model.h via host.runtime): exactness, arena, graph errors.

The four MLPerf Tiny int8 models, packed: the C runtime's outputs equal host.reference's and
LiteRT's (BUILTIN_REF) on seeded inputs, in every decode mode (streamed also in chunks that do not
divide the channels), and every op's output equals the reference interpreter's. A too-small arena is refused before anything runs; every malformed
graph gets its own status (the golden vectors in tests/vectors/model/).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from host.container.reader import open_container
from host.errors import BitstreamError, DataError
from host.model_format import pack
from host.reference import run, run_all
from host.runtime import STREAM_CHANNELS, DecodeMode, Device, Runtime, RuntimeStatusError, arena_size
from host.tflite import read_model, write_model
from tests.model_samples import broken_containers, tiny_container, tiny_graph, tiny_inputs

MODELS = Path("/work/shared/models/mlperf-tiny")
VECTORS = Path(__file__).parent / "vectors" / "model"
INT8_MODELS = ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"]
TFLM_ARENA = {"kws_ref_model": 22_820, "pretrainedResnet_quant": 54_996, "vww_96_int8": 100_708, "ad01_int8": 2_580}
FIXED_MODES = (DecodeMode.AT_LOAD, DecodeMode.PER_LAYER, DecodeMode.STREAMED)


def first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> str | None:
    ours, theirs = np.asarray(ours).reshape(-1), np.asarray(theirs).reshape(-1)
    if ours.shape != theirs.shape:
        return f"sizes {ours.size} vs {theirs.size}"
    bad = np.flatnonzero(ours != theirs)
    return None if bad.size == 0 else f"element {bad[0]}: {ours[bad[0]]} vs {theirs[bad[0]]} ({bad.size} differ)"


def litert_outputs(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    interpreter = litert.Interpreter(model_content=model,
                                     experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]


@pytest.fixture(scope="module", params=INT8_MODELS)
def packed(request):
    data = (MODELS / f"{request.param}.tflite").read_bytes()
    graph = read_model(data)
    return request.param, data, graph, pack(graph, name=request.param, version=1)


@pytest.mark.parametrize("mode", list(DecodeMode))
def test_mlperf_outputs_equal_reference_and_litert(packed, mode):
    name, original, graph, container = packed
    runtime = Runtime(container, mode)
    rng = np.random.default_rng(hash(name) % 1000)
    for _ in range(2):
        inputs = [rng.integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.input_tensors()]
        ours = runtime.run(inputs)
        reference = run(graph, inputs)
        theirs = litert_outputs(original, inputs)
        for k, (o, r, t) in enumerate(zip(ours, reference, theirs)):
            assert first_mismatch(o, r) is None, f"{name} output {k} vs reference: {first_mismatch(o, r)}"
            assert first_mismatch(o, t) is None, f"{name} output {k} vs LiteRT: {first_mismatch(o, t)}"


@pytest.mark.parametrize("name", ["kws_ref_model", "pretrainedResnet_quant"])
def test_per_tensor_conv_weights_run_in_every_mode(name):
    # TFLite allows one weight scale for a whole CONV_2D / DEPTHWISE_CONV_2D (older converters write it;
    # the compressor's one-step options produce it): the runtime expands it per output channel.
    from tests.link_models import one_scale

    graph = one_scale(read_model((MODELS / f"{name}.tflite").read_bytes()))
    weights = [graph.tensors[op.inputs[1]] for op in graph.ops if op.kind.value in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert weights and all(w.quantization.scale.size == 1 for w in weights)
    container = pack(graph, name=name, version=1)
    model = write_model(graph)
    rng = np.random.default_rng(7)
    inputs = [rng.integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.input_tensors()]
    reference = run(graph, inputs)
    theirs = litert_outputs(model, inputs)
    for mode in (*FIXED_MODES, DecodeMode.AUTO):
        for k, (o, r, t) in enumerate(zip(Runtime(container, mode).run(inputs), reference, theirs)):
            assert first_mismatch(o, r) is None, f"{name} {mode.name} output {k} vs reference: {first_mismatch(o, r)}"
            assert first_mismatch(o, t) is None, f"{name} {mode.name} output {k} vs LiteRT: {first_mismatch(o, t)}"


def test_mlperf_every_op_output_equals_the_reference(packed):
    name, _, graph, container = packed
    inputs = [np.random.default_rng(5).integers(-128, 128, size=t.shape, dtype=np.int8)
              for t in graph.input_tensors()]
    values = run_all(graph, inputs)
    runtime = Runtime(container, DecodeMode.PER_LAYER)
    _, layers = runtime.run(inputs, layers=True)
    assert len(layers) == len(graph.ops)
    for index, (op, ours) in enumerate(zip(graph.ops, layers)):
        problem = first_mismatch(ours, values[op.outputs[0]])
        assert problem is None, f"{name} {graph.describe_op(index)}: {problem}"


def test_mlperf_arena_plan(packed):
    """The planned region is far below the naive sum of activations; numbers go to the report."""
    name, _, graph, container = packed
    naive = sum(t.size for t in graph.tensors if t.data is None)
    largest = max(t.size for t in graph.tensors if t.data is None)
    at_load, per_layer, streamed = (Runtime(container, mode).info for mode in FIXED_MODES)
    assert largest <= at_load["planned_bytes"] < naive
    # decoded weights (raw-coded tensors are read in place, so at most all of them)
    assert 0 < at_load["weight_bytes"] == per_layer["weight_bytes"] <= sum(
        t.data.nbytes for t in graph.tensors if t.data is not None)
    assert streamed["arena_needed"] < per_layer["arena_needed"] < at_load["arena_needed"]
    assert arena_size(container, DecodeMode.PER_LAYER) == per_layer["arena_needed"]
    assert arena_size(container, DecodeMode.STREAMED) == streamed["arena_needed"]
    assert arena_size(container, DecodeMode.AUTO) == streamed["arena_needed"]
    # streamed: the planned region is the activations plus at most one op's chunk of weight rows, and its
    # multipliers, bias and (depthwise) whole small filter
    row = max(graph.tensors[op.inputs[1]].data[0].size for op in graph.ops
              if op.kind.value in ("CONV_2D", "FULLY_CONNECTED"))
    assert streamed["planned_bytes"] <= at_load["planned_bytes"] + STREAM_CHANNELS * row + 4096


def test_mlperf_streamed_chunks_not_dividing_the_channels(packed):
    """Streamed in chunks of 3 and 7 output channels (no MLPerf layer's channel count is a multiple
    of 7; KWS's 12 classes and ResNet's 10 are not of 7 or 3 either): every op's output equals the
    reference interpreter's."""
    name, _, graph, container = packed
    inputs = [np.random.default_rng(11).integers(-128, 128, size=t.shape, dtype=np.int8)
              for t in graph.input_tensors()]
    values = run_all(graph, inputs)
    for channels in (3, 7):
        runtime = Runtime(container, DecodeMode.STREAMED, stream_channels=channels)
        assert runtime.info["stream_channels"] == channels
        _, layers = runtime.run(inputs, layers=True)
        for index, (op, ours) in enumerate(zip(graph.ops, layers)):
            problem = first_mismatch(ours, values[op.outputs[0]])
            assert problem is None, f"{name} chunk {channels} {graph.describe_op(index)}: {problem}"


def test_model_that_fits_only_streamed_runs():
    """AD01 in the arena the streamed mode needs: AT_LOAD and PER_LAYER are refused there, AUTO
    falls through to STREAMED and runs bit-exactly."""
    name = "ad01_int8"
    graph = read_model((MODELS / f"{name}.tflite").read_bytes())
    container = pack(graph, name=name, version=1)
    arena = arena_size(container, DecodeMode.STREAMED)
    assert arena < TFLM_ARENA[name] * 10  # far below the 640x128 layer's 81,920 weight bytes
    for mode in (DecodeMode.AT_LOAD, DecodeMode.PER_LAYER):
        with pytest.raises(RuntimeStatusError) as err:
            Runtime(container, mode, arena=arena)
        assert err.value.status == "DC_ERR_ARENA" and err.value.needed > arena
    with pytest.raises(RuntimeStatusError) as err:
        Runtime(container, DecodeMode.AUTO, arena=arena - 1)
    assert err.value.status == "DC_ERR_ARENA" and err.value.needed == arena
    runtime = Runtime(container, DecodeMode.AUTO, arena=arena)
    assert runtime.mode is DecodeMode.STREAMED and runtime.arena_bytes == arena
    inputs = [np.random.default_rng(3).integers(-128, 128, size=t.shape, dtype=np.int8)
              for t in graph.input_tensors()]
    for k, (o, r) in enumerate(zip(runtime.run(inputs), run(graph, inputs))):
        assert first_mismatch(o, r) is None, f"output {k}: {first_mismatch(o, r)}"


def most_chunks(graph, channels: int) -> list[int]:
    """Per op: the largest chunk STREAMED may give it (stream_channels or its whole Cout), 0 for other ops."""
    return [min(channels, graph.tensors[op.inputs[1]].data.shape[0])
            if op.kind.value in ("CONV_2D", "FULLY_CONNECTED") else 0 for op in graph.ops]


def test_mlperf_streamed_chunks_in_a_large_arena(packed):
    """STREAMED in an arena far above its least: every streamed op reads stream_channels (or its whole
    Cout) at a time, arena_size and arena_needed still give the least, and the least arena itself uses
    exactly what it needs with no chunk above the large arena's."""
    name, _, graph, container = packed
    least = arena_size(container, DecodeMode.STREAMED)
    small = Runtime(container, DecodeMode.STREAMED, arena=least)
    large = Runtime(container, DecodeMode.STREAMED, arena=least * 4)
    assert small.info["arena_used"] == small.arena_bytes == least == large.arena_bytes
    assert least <= large.info["arena_used"] <= least * 4
    most = most_chunks(graph, STREAM_CHANNELS)
    # an op the runtime decodes whole (e.g. weights read by two ops) streams nothing: 0
    assert all(c in (0, m) for c, m in zip(large.chunks, most)), f"{name}: {large.chunks} vs {most}"
    assert all(s <= c for s, c in zip(small.chunks, large.chunks)), f"{name}: {small.chunks} {large.chunks}"
    assert arena_size(container, DecodeMode.STREAMED) == least
    assert Runtime(container, DecodeMode.PER_LAYER).chunks == [0] * len(graph.ops)


def test_streamed_chunks_grow_with_the_arena():
    """ResNet-8, STREAMED: at its least arena the peak op (op 2, 16 channels of 32x32) reads fewer channels
    than stream_channels; every byte more lets chunks grow (never past stream_channels, even sizes), the
    plan never passes the arena, arena_size and the least arena's refusal one byte below are unchanged,
    AUTO below PER_LAYER's arena takes the same chunks, and every output stays bit-exact."""
    name = "pretrainedResnet_quant"
    graph = read_model((MODELS / f"{name}.tflite").read_bytes())
    container = pack(graph, name=name, version=1)
    least = arena_size(container, DecodeMode.STREAMED)
    assert least < arena_size(container, DecodeMode.PER_LAYER) - 4096
    with pytest.raises(RuntimeStatusError) as err:
        Runtime(container, DecodeMode.STREAMED, arena=least - 1)
    assert err.value.status == "DC_ERR_ARENA" and err.value.needed == least
    inputs = [np.random.default_rng(5).integers(-128, 128, size=t.shape, dtype=np.int8)
              for t in graph.input_tensors()]
    expected = run(graph, inputs)
    most = most_chunks(graph, STREAM_CHANNELS)
    previous = None
    for extra in (0, 200, 500, 2048, 4096):
        runtime = Runtime(container, DecodeMode.STREAMED, arena=least + extra)
        chunks = runtime.chunks
        assert runtime.arena_bytes == least and runtime.info["arena_used"] <= least + extra
        assert all(c == 0 or (c <= m and (c in (1, m) or c % 2 == 0)) for c, m in zip(chunks, most)), chunks
        if previous is None:
            assert runtime.info["arena_used"] == least and min(c for c in chunks if c) < STREAM_CHANNELS, chunks
        else:
            assert all(p <= c for p, c in zip(previous, chunks)), (previous, chunks)
        assert Runtime(container, DecodeMode.AUTO, arena=least + extra).chunks == chunks
        for k, (o, r) in enumerate(zip(runtime.run(inputs), expected)):
            assert first_mismatch(o, r) is None, f"+{extra} B output {k}: {first_mismatch(o, r)}"
        previous = chunks
    assert previous == most and previous != Runtime(container, DecodeMode.STREAMED, arena=least).chunks
    assert arena_size(container, DecodeMode.STREAMED) == arena_size(container, DecodeMode.AUTO) == least


def test_auto_mode_takes_the_fastest_mode_that_fits():
    data = pack(read_model((MODELS / "kws_ref_model.tflite").read_bytes()), name="kws", version=1)
    sizes = {mode: arena_size(data, mode) for mode in FIXED_MODES}
    assert sizes[DecodeMode.STREAMED] < sizes[DecodeMode.PER_LAYER] < sizes[DecodeMode.AT_LOAD]
    for mode in FIXED_MODES:
        runtime = Runtime(data, DecodeMode.AUTO, arena=sizes[mode])
        assert runtime.mode is mode and runtime.arena_bytes == sizes[mode]
    assert Runtime(data, DecodeMode.AUTO, arena=sizes[DecodeMode.AT_LOAD] - 1).mode is DecodeMode.PER_LAYER
    assert Runtime(data, DecodeMode.AUTO).arena_bytes == sizes[DecodeMode.STREAMED]
    data = tiny_container()
    with pytest.raises(ValueError):
        Runtime(data, DecodeMode.STREAMED, stream_channels=0)


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 64])
def test_tiny_model_streamed_in_every_chunk_size(channels):
    """The tiny model's CONV_2D (4 filters, uniform levels) and per-tensor FULLY_CONNECTED (5 units,
    dependent levels: the trellis state carries from chunk to chunk) in chunks of 1..5 channels and
    one chunk larger than any layer: outputs equal the reference's."""
    graph, data = tiny_graph(), tiny_container()
    runtime = Runtime(data, DecodeMode.STREAMED, stream_channels=channels)
    assert runtime.arena_bytes == arena_size(data, DecodeMode.STREAMED, stream_channels=channels)
    for inputs in tiny_inputs(graph, 3):
        for k, (o, r) in enumerate(zip(runtime.run(inputs), run(graph, inputs))):
            assert first_mismatch(o, r) is None, f"chunk {channels} output {k}: {first_mismatch(o, r)}"


def test_arena_too_small_is_refused_before_running():
    data = tiny_container()
    for mode in DecodeMode:
        needed = arena_size(data, mode)
        with pytest.raises(RuntimeStatusError) as err:
            Runtime(data, mode, arena=needed - 1)
        assert err.value.status == "DC_ERR_ARENA" and err.value.needed == needed
        with pytest.raises(RuntimeStatusError) as err:
            Runtime(data, mode, arena=64)  # not even the tables fit: a lower bound
        assert err.value.status == "DC_ERR_ARENA" and 64 < err.value.needed <= needed
        Runtime(data, mode, arena=needed)


def test_tiny_model_in_every_mode_and_larger_arena():
    graph, data = tiny_graph(), tiny_container()
    for mode in DecodeMode:
        runtime = Runtime(data, mode, arena=arena_size(data, mode) + 1000)
        assert runtime.op_names == [op.kind.value for op in graph.ops]
        for inputs in tiny_inputs(graph, 4):
            for k, (o, r) in enumerate(zip(runtime.run(inputs), run(graph, inputs))):
                assert first_mismatch(o, r) is None, f"{mode.name} output {k}: {first_mismatch(o, r)}"
    runtime = Runtime(data)
    with pytest.raises(DataError):
        runtime.run([])
    with pytest.raises(DataError):
        runtime.run([np.zeros((1, 6, 6, 2), dtype=np.int16)])


@pytest.mark.parametrize("op, field", [(0, "dilation_w"), (2, "filter_w")], ids=["conv_dilation", "pool_filter"])
def test_window_fields_beyond_int16_are_unsupported(op, field):
    """The op record keeps strides, dilations, window sizes and paddings in int16: INT16_MAX loads and runs
    like the reference interpreter (the SAME padding it implies fits too), one more is DC_ERR_UNSUPPORTED at load
    in every mode."""
    graph = tiny_graph()
    graph.ops[op] = dataclasses.replace(graph.ops[op],
                                        options=dataclasses.replace(graph.ops[op].options, **{field: 32_767}))
    data = pack(graph, name="tiny", version=1, target="cortex-m4")
    (inputs,) = tiny_inputs(graph, 1)
    for mode in FIXED_MODES:
        for k, (o, r) in enumerate(zip(Runtime(data, mode).run(inputs), run(graph, inputs))):
            assert first_mismatch(o, r) is None, f"{mode.name} output {k}: {first_mismatch(o, r)}"
    graph.ops[op] = dataclasses.replace(graph.ops[op],
                                        options=dataclasses.replace(graph.ops[op].options, **{field: 32_768}))
    data = pack(graph, name="tiny", version=1, target="cortex-m4")
    for mode in DecodeMode:
        with pytest.raises(RuntimeStatusError) as err:
            Runtime(data, mode, arena=1 << 20)
        assert err.value.status == "DC_ERR_UNSUPPORTED"


def test_tiny_golden_vector():
    data = (VECTORS / "tiny.dcb").read_bytes()
    inputs = [np.frombuffer((VECTORS / "tiny.in0.bin").read_bytes(), dtype=np.int8).reshape(1, 6, 6, 2)]
    for mode in DecodeMode:
        outputs = Runtime(data, mode).run(inputs)
        for k, output in enumerate(outputs):
            expected = np.frombuffer((VECTORS / f"tiny.out{k}.bin").read_bytes(), dtype=np.int8)
            assert first_mismatch(output, expected) is None


@pytest.mark.parametrize("channels", [1, 3, 64])
def test_tiny_raw_golden_vector(channels):
    """tiny_raw.dcb: the tiny graph with raw payloads (the scaled biases as raw int32 levels); the
    same outputs as tiny.dcb in every mode, streamed in chunks of 1 and 3 channels (the 4-channel
    conv bias is then read a chunk at a time) and whole."""
    data = (VECTORS / "tiny_raw.dcb").read_bytes()
    assert data == tiny_container(codec="raw")
    inputs = [np.frombuffer((VECTORS / "tiny.in0.bin").read_bytes(), dtype=np.int8).reshape(1, 6, 6, 2)]
    for mode in DecodeMode:
        outputs = Runtime(data, mode, stream_channels=channels).run(inputs)
        for k, output in enumerate(outputs):
            expected = np.frombuffer((VECTORS / f"tiny.out{k}.bin").read_bytes(), dtype=np.int8)
            assert first_mismatch(output, expected) is None, (mode.name, k)


def test_scaled_biases_run_bit_exactly_in_every_mode():
    """AD01 with every bias stored by rule scaled (multiples of 16; the 640-unit layer's bias then
    codes with CABAC): the C runtime equals the reference interpreter in every decode mode and
    chunk size, and STREAMED still reads that 2,560-byte bias a chunk at a time (its arena stays
    within the decoder state of the exact model's)."""
    from host.graph import ScaledLevels
    from tests.model_samples import scale_bias

    name = "ad01_int8"
    graph = read_model((MODELS / f"{name}.tflite").read_bytes())
    exact = pack(graph, name=name, version=1)
    biases = [op.inputs[2] for op in graph.ops if len(op.inputs) > 2 and op.inputs[2] >= 0]
    for index in biases:
        scale_bias(graph.tensors[index], 4)
    scaled = pack(graph, name=name, version=1)
    assert all(isinstance(graph.tensors[i].encoding, ScaledLevels) for i in biases)
    assert arena_size(scaled, DecodeMode.STREAMED) <= arena_size(exact, DecodeMode.STREAMED) + 512
    inputs = [np.random.default_rng(3).integers(-128, 128, size=t.shape, dtype=np.int8)
              for t in graph.input_tensors()]
    values = run_all(graph, inputs)
    for mode in DecodeMode:
        for channels in (7, STREAM_CHANNELS):
            _, layers = Runtime(scaled, mode, stream_channels=channels).run(inputs, layers=True)
            for index, (op, ours) in enumerate(zip(graph.ops, layers)):
                problem = first_mismatch(ours, values[op.outputs[0]])
                assert problem is None, f"{mode.name} chunk {channels} {graph.describe_op(index)}: {problem}"


def _expected_status(path: Path) -> str:
    return path.with_suffix(".expect").read_text().split()[1]


@pytest.mark.parametrize("path", sorted(VECTORS.glob("neg_*.dcb")), ids=lambda p: p.stem)
def test_negative_vectors_give_their_status(path):
    data, status = path.read_bytes(), _expected_status(path)
    for mode in DecodeMode:
        with pytest.raises((RuntimeStatusError, BitstreamError)) as err:  # DC_ERR_OVERSIZE is both kinds
            Runtime(data, mode, arena=1 << 20)
        assert err.value.status == status


def test_negative_vectors_are_current_and_distinct():
    cases = broken_containers()
    assert {path.stem for path in VECTORS.glob("neg_*.dcb")} == set(cases)
    statuses = {status for _, status in cases.values()}
    assert statuses == {"DC_ERR_GRAPH", "DC_ERR_OP", "DC_ERR_OPTION", "DC_ERR_SHAPE", "DC_ERR_UNSUPPORTED",
                        "DC_ERR_OVERSIZE"}


def test_corrupt_payload_and_container():
    data = bytearray(tiny_container())
    with pytest.raises(BitstreamError) as err:
        arena_size(bytes(data[:-1]))
    assert err.value.status == "DC_ERR_TRUNCATED"
    data[200] ^= 0xFF
    with pytest.raises(BitstreamError) as err:
        Runtime(bytes(data))
    assert err.value.status == "DC_ERR_HASH"


def test_decoded_model_runs_identically_in_litert():
    graph = tiny_graph()
    model = write_model(graph)
    for inputs in tiny_inputs(graph, 2):
        for k, (o, t) in enumerate(zip(Runtime(tiny_container()).run(inputs), litert_outputs(model, inputs))):
            assert first_mismatch(o, t) is None, f"output {k}: {first_mismatch(o, t)}"


# ----------------------------------------------------------------------------- compressed example models

EXAMPLES = Path(__file__).parents[1] / "examples"
EXAMPLE_NAMES = ["fashion_cnn", "lenet300", "kws", "har"]


def compressed_example(name: str):
    """The int8 example with every weight tensor compressed, one reconstruction rule each in turn
    (uniform 4-bit with 40% pruned, a 3-bit codebook, dependent 4-bit levels on small tensors),
    built directly from the candidates of host.passes (no search: fast). Biases stay as they are:
    the check here is exactness, not accuracy. Returns (graph, int8 eval inputs)."""
    import dataclasses

    from host.data import load_data
    from host.graph import Quantization
    from host.passes.candidates import codebook_candidate, dependent_candidate, uniform_candidate
    from host.passes.prune import magnitude_mask

    graph = read_model(EXAMPLES / name / "model_int8.tflite")
    data = load_data(EXAMPLES / name / "eval.npz", graph)
    weight_ops = [k for k, op in enumerate(graph.ops) if op.kind.value in ("CONV_2D", "DEPTHWISE_CONV_2D",
                                                                          "FULLY_CONNECTED")]
    for turn, k in enumerate(weight_ops):
        op = graph.ops[k]
        w = graph.tensors[op.inputs[1]]
        axis = 3 if op.kind.value == "DEPTHWISE_CONV_2D" else 0
        shape = [1] * w.data.ndim
        shape[axis] = -1
        scale = np.broadcast_to(w.quantization.scale, (w.shape[axis],)).astype(np.float32)
        real = w.data.astype(np.float64) * scale.astype(np.float64).reshape(shape)
        rule = ("uniform", "codebook", "dependent")[turn % 3]
        if rule == "dependent" and w.size > 6000:
            rule = "uniform"  # the trellis quantizer is Python: keep the default test fast
        if rule == "uniform":
            cand = uniform_candidate(real, axis, 4, magnitude_mask(real, 0.4))
        elif rule == "codebook":
            cand = codebook_candidate(real, axis, scale, 3)
        else:
            cand = dependent_candidate(real, axis, 4)
        graph.tensors[op.inputs[1]] = dataclasses.replace(
            w, data=cand.data, encoding=cand.encoding,
            quantization=Quantization(cand.scale, np.zeros(cand.scale.size, dtype=np.int64), axis))
    return graph, data.x


@pytest.fixture(scope="module", params=EXAMPLE_NAMES)
def compressed(request):
    graph, x = compressed_example(request.param)
    return request.param, graph, x, pack(graph, name=request.param, version=1, keep_names=False)


def test_compressed_examples_run_bit_exactly_on_eval_inputs(compressed):
    """Every reconstruction rule, decoded by the device code: C runtime == host.reference.run."""
    from host.passes.execute import run_samples

    name, graph, x, container = compressed
    rules = {type(t.encoding).__name__ for t in graph.tensors if t.encoding is not None}
    assert len(rules) >= 2, rules
    reference = run_samples(graph, x, keep=set()).values[graph.outputs[0]]  # batched reference kernels
    assert np.array_equal(reference[:3], np.concatenate([run(graph, [x[i:i + 1]])[0] for i in range(3)]))
    for mode in DecodeMode:
        runtime = Runtime(container, mode)
        count = x.shape[0] if mode is DecodeMode.AT_LOAD else 40
        for i in range(count):
            ours = runtime.run([x[i:i + 1]])[0]
            problem = first_mismatch(ours, reference[i:i + 1])
            assert problem is None, f"{name} {mode.name} eval sample {i}: {problem}"


def test_decoded_compressed_examples_run_identically_in_litert(compressed):
    """`dcagent decode` writes what the device runs: LiteRT (BUILTIN_REF) == the C runtime."""
    from host.model_format import unpack

    name, graph, x, container = compressed
    model = write_model(unpack(container))
    runtime = Runtime(container, DecodeMode.PER_LAYER)
    for i in range(0, x.shape[0], max(1, x.shape[0] // 12)):
        theirs = litert_outputs(model, [x[i:i + 1]])[0]
        problem = first_mismatch(runtime.run([x[i:i + 1]])[0], theirs)
        assert problem is None, f"{name} eval sample {i} vs LiteRT: {problem}"


def test_levels_outside_their_rule_are_corrupt():
    """A level the rule cannot rebuild (codebook index out of range, |level| above the bits, a
    scaled level whose value leaves int32) is DC_ERR_CORRUPT: at load when decoding at load, at
    the op when decoding per layer or streamed (the scaled conv bias: read a chunk at a time)."""
    from host.container.layout import Codec, LevelDtype
    from host.container.reader import open_container
    from host.container.writer import TensorPayload, build_container
    from host.model_format import unpack

    good = open_container(tiny_container())
    for rule in ("uniform", "codebook", "dependent", "scaled"):
        index = next(i for i, t in enumerate(good.metadata.tensors) if t.encoding and t.encoding.rule == rule)
        payloads = []
        for i, e in enumerate(good.entries):
            if i == index and rule == "scaled":  # conv/b at shift 2: 2^29 * 2^2 leaves int32
                levels = good.levels(i).astype(np.int64)
                levels[1] = 1 << 29
                payloads.append(TensorPayload.raw(levels, LevelDtype.INT32))
            elif i == index:
                levels = good.levels(i).astype(np.int64)
                levels[5] = 100  # beyond 3/4-bit levels and beyond an 8-entry codebook
                payloads.append(TensorPayload.raw(levels, LevelDtype.INT8))
            else:
                payloads.append(TensorPayload(good.payload(i), e.level_count, e.codec, e.level_dtype))
        bad = build_container(good.metadata, payloads)
        assert open_container(bad).entries[index].codec is Codec.RAW
        with pytest.raises(RuntimeStatusError) as err:
            Runtime(bad, DecodeMode.AT_LOAD)
        assert err.value.status == "DC_ERR_CORRUPT", rule
        for mode in (DecodeMode.PER_LAYER, DecodeMode.STREAMED):
            runtime = Runtime(bad, mode)
            with pytest.raises(RuntimeStatusError) as err:
                runtime.run(tiny_inputs(tiny_graph(), 1)[0])
            assert err.value.status == "DC_ERR_CORRUPT", (rule, mode.name)
        with pytest.raises(BitstreamError) as err:
            unpack(bad)
        assert err.value.status == "DC_ERR_CORRUPT", rule


def test_arena_per_device_and_the_min_ram_pack_writes():
    """A Cortex-M's tables hold 4-byte pointers, so with the reference kernels it needs less than the
    host in every mode; its DSP kernels add CONV_2D scratch (har's convolutions: more than the host at
    load). pack's target.min_ram is the most of the three least (AUTO) arenas, so a device policy that
    admits a model by it admits one every board runs (the boards' own figures: tests/test_link_qemu.py)."""
    graph = read_model("examples/har/model_int8.tflite")
    container = pack(graph, name="har", version=1)
    sizes = {d: {m: arena_size(container, m, device=d) for m in DecodeMode} for d in Device}
    for mode in (DecodeMode.AT_LOAD, DecodeMode.PER_LAYER, DecodeMode.STREAMED):
        assert sizes[Device.CORTEX_M][mode] < sizes[Device.HOST][mode]
        assert sizes[Device.CORTEX_M][mode] <= sizes[Device.CORTEX_M_DSP][mode]
    assert sizes[Device.CORTEX_M_DSP][DecodeMode.AT_LOAD] > sizes[Device.HOST][DecodeMode.AT_LOAD]
    assert all(sizes[d][DecodeMode.AUTO] == min(sizes[d][m] for m in DecodeMode if m is not DecodeMode.AUTO)
               for d in Device)
    min_ram = open_container(container).metadata.target.min_ram
    assert min_ram == max(sizes[d][DecodeMode.AUTO] for d in Device)
