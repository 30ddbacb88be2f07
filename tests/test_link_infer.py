"""The firmware's model runtime behind SMP on the native board (a real process on a real pty):
inference equals the host reference interpreter, inputs in pieces, the running model read
back, decoding per layer when the at-load arena does not fit, streamed when even that does not, a
model that never fits refused with DC_ERR_ARENA before it runs, and `dcagent infer`."""
import asyncio
import hashlib

import numpy as np
import pytest

from dcagent.cli import main
from dcagent.errors import DeviceError
from dcagent.link import SmpSession, console_model, flash, infer, running_model
from dcagent.link.infer import RC_ARENA, RC_SHAPE
from dcagent.link.model_group import ModelRead, Stats
from host.model_format import unpack
from host.reference import run as reference_run
from tests.link_boards import board_running
from tests.link_models import (DEVICE_KEY, MLPERF_MODELS, chain_graph, graph, mlperf_container, mlperf_graph, model,
                               tagged, tagged_graph, version_code)
from tests.test_link_mlperf import Dut

ARENA = 393216  # firmware/boards/native.mk ARENA_SIZE


def first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> str | None:
    ours, theirs = np.asarray(ours).reshape(-1), np.asarray(theirs).reshape(-1)
    bad = np.flatnonzero(ours != theirs)
    return None if bad.size == 0 else f"element {bad[0]}: device {ours[bad[0]]}, reference {theirs[bad[0]]}"


def samples(g, count: int, seed: int) -> np.ndarray:
    (spec,) = g.input_tensors()
    return np.random.default_rng(seed).integers(-128, 128, size=(count, *spec.shape), dtype=np.int8)


def check_outputs(g, x: np.ndarray, results, what: str) -> None:
    """Every device output equals host.reference.run on the same graph."""
    (out,) = g.output_tensors()
    for i, (sample, result) in enumerate(zip(x, results)):
        (expected,) = reference_run(g, [sample])
        got = np.frombuffer(result.output, dtype=np.int8).reshape(out.shape)
        assert first_mismatch(got, expected) is None, f"{what} sample {i}: {first_mismatch(got, expected)}"


def test_model_group_runs_the_model(tmp_path):
    m = tagged(version_code(1), 30000, seed=3)  # input 3000 bytes: sent in two pieces
    g = graph(30000, seed=3)
    x = samples(g, 3, seed=1)
    with board_running("native", tmp_path) as board:
        with pytest.raises(DeviceError) as info:
            infer(board.port, x[:1])
        assert info.value.code == 103 and "no model" in str(info.value)
        flash(board.port, m, confirm=True)
        results = infer(board.port, x)
        with pytest.raises(DeviceError) as info:
            infer(board.port, x[:1, :-1])
        assert info.value.code == RC_SHAPE and "takes 3000" in str(info.value)
        device_model, data = running_model(board.port)
        line = console_model(board.port)

        async def stats_and_bad_read():
            async with SmpSession(board.port) as s:
                with pytest.raises(DeviceError) as bad:
                    await s.request(ModelRead(off=len(m) + 1), "read past the end")
                return await s.request(Stats(), "stats"), bad.value.code
        st, bad_read = asyncio.run(stats_and_bad_read())
    check_outputs(g, x, results, "fc 3000x10")
    assert data == m and device_model.sha256 == hashlib.sha256(m).digest()
    assert (device_model.input_bytes, device_model.output_bytes, device_model.decode,
            device_model.load_status, device_model.arena_capacity) == (3000, 10, "at_load", 0, ARENA)
    assert (line["status"], line["decode"], line["in"], line["out"], line["ops"]) == ("DC_OK", "at_load", "3000",
                                                                                     "10", "1")
    assert line["arena"] == f"{device_model.arena_bytes}/{ARENA}"
    assert bad_read == 1  # DC_ERR_ARG
    assert st.inferences == 3 and all(r.instructions == 0 and r.cycles == 0 for r in results)  # native: no counters


def shared_weights_graph(width: int, seed: int):
    """input [1, width] -> FULLY_CONNECTED -> FULLY_CONNECTED, both with ONE width x width weight tensor:
    weights read by two ops are decoded whole even in the streamed mode (docs/runtime.md)."""
    from host.graph import Activation, FullyConnectedOptions, Op, OpKind

    g = chain_graph(2, width, seed=seed)
    first, second = g.ops
    g.ops[1] = Op(OpKind.FULLY_CONNECTED, (second.inputs[0], first.inputs[1], first.inputs[2]), second.outputs,
                  FullyConnectedOptions(Activation.NONE, False))
    g.tensors[second.inputs[1]].data = None  # now unused: dropped by pack
    return g


def test_per_layer_when_at_load_does_not_fit_and_arena_refusal(tmp_path):
    chain = chain_graph(4, 320, seed=5)    # 409,600 weights: more than the arena decoded at load
    huge = chain_graph(1, 640, seed=6)     # one 409,600-weight layer: does not fit per layer, runs streamed
    shared = shared_weights_graph(640, seed=7)  # the same layer read twice: fits in no mode
    x = samples(chain, 2, seed=2)
    x_huge = samples(huge, 2, seed=4)
    with board_running("native", tmp_path) as board:
        flash(board.port, tagged_graph(chain, version_code(1), "chain"), confirm=True)
        results = infer(board.port, x)
        line = console_model(board.port)
        flash(board.port, tagged_graph(huge, version_code(2), "huge"), confirm=True)
        huge_results = infer(board.port, x_huge)
        streamed = console_model(board.port)
        flash(board.port, tagged_graph(shared, version_code(3), "shared"), confirm=True)  # delivered, verified
        refused = console_model(board.port)
        with pytest.raises(DeviceError) as info:
            infer(board.port, samples(shared, 1, seed=3))
        dut = Dut(board.port)
        try:
            dut.command("db load 640")
            for i in range(0, 640, 32):
                dut.command("db " + bytes(32).hex())
            mlperf = dut.command("infer 1 0")
        finally:
            dut.close()
    check_outputs(chain, x, results, "chain per layer")
    check_outputs(huge, x_huge, huge_results, "huge streamed")
    assert streamed["status"] == "DC_OK" and streamed["decode"] == "streamed"
    assert line["status"] == "DC_OK" and line["decode"] == "per_layer"
    needed, capacity = (int(v) for v in line["arena"].split("/"))
    assert needed < capacity == ARENA < int(line["at_load"])
    assert refused["status"] == "DC_ERR_ARENA" and int(refused["arena"].split("/")[0]) > ARENA
    assert info.value.code == RC_ARENA and f"the device has {ARENA}" in str(info.value)
    assert mlperf == ["e-[Inference failed: DC_ERR_ARENA]", "m-ready"]


def test_mlperf_models_equal_the_reference_on_native(tmp_path):
    """The four MLPerf Tiny int8 models, compressed losslessly, through SMP (reference kernels)."""
    with board_running("native", tmp_path) as board:
        for version, name in enumerate(MLPERF_MODELS, start=1):
            g = mlperf_graph(name)
            flash(board.port, mlperf_container(name, version_code(version)), confirm=True)
            x = samples(g, 2, seed=version)
            check_outputs(g, x, infer(board.port, x), name)


def test_cli_infer_checks_outputs_against_the_reference(tmp_path, capsys):
    state, key = str(tmp_path / "state"), DEVICE_KEY.hex()
    path = tmp_path / "m.dcb"
    path.write_bytes(model(version_code(1), 5000, seed=4))
    g = unpack(path.read_bytes())
    x = samples(g, 4, seed=9)
    np.savez(tmp_path / "d.npz", x=x)
    assert main(["infer", "--board", "native", "--state", state, "--data", str(tmp_path / "d.npz")]) == 4
    assert "runs no model" in capsys.readouterr().err  # not provisioned, nothing flashed
    assert main(["flash", str(path), "--board", "native", "--state", state, "--device-key", key, "--provision",
                 "--confirm"]) == 0
    out = tmp_path / "out.npz"
    assert main(["infer", "--board", "native", "--state", state, "--data", str(tmp_path / "d.npz"),
                 "-o", str(out)]) == 0
    assert "4 inferences: every output equals the host reference" in capsys.readouterr().out
    with np.load(out) as saved:
        y, instructions = saved["y"], saved["instructions"]
    assert y.dtype == np.int8 and y.shape == (4, 1, 10) and instructions.tolist() == [0, 0, 0, 0]
    for sample, got in zip(x, y):
        assert first_mismatch(got, reference_run(g, [sample])[0]) is None
    # --model: the same file (untagged) is accepted with the device key; another model is not
    assert main(["infer", "--board", "native", "--state", state, "--data", str(tmp_path / "d.npz"),
                 "--model", str(path), "--device-key", key]) == 0
    other = tmp_path / "other.dcb"
    other.write_bytes(model(version_code(1), 5000, seed=5))
    assert main(["infer", "--board", "native", "--state", state, "--data", str(tmp_path / "d.npz"),
                 "--model", str(other), "--device-key", key]) == 2
    assert "is not the model the device runs" in capsys.readouterr().err
    np.savez(tmp_path / "bad.npz", x=x.astype(np.uint8))
    assert main(["infer", "--board", "native", "--state", state, "--data", str(tmp_path / "bad.npz")]) == 3
    assert "the model takes samples of int8[1, 500]" in capsys.readouterr().err
