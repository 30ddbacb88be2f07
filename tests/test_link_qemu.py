"""The device link on QEMU Cortex-M4 (mps2-an386, the firmware cross-built): smpclient
uploads, tests, confirms and reverts models; bad HMAC and downgrade are refused; the flash
persists across QEMU restarts; the MLPerf Tiny protocol answers on the same UART."""
import asyncio
import hashlib

import pytest
import serial
from smp.image_management import IMG_MGMT_ERR
from smpclient.requests.os_management import ResetWrite

from dcagent.errors import DeviceError
from dcagent.link import SmpSession, flash, read_state
from tests.link_boards import board_running
from tests.link_models import MLPERF_MODELS, OTHER_KEY, mlperf_container, mlperf_graph, tagged, version_code

pytestmark = pytest.mark.qemu


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def active_hash(port: str) -> bytes:
    return next(st.hash for st in read_state(port) if st.active)


def reload_in_mode(port: str, mode: str, channels: int = 0):
    """Reload the board's model in decode `mode` ("per_layer", "streamed", "auto") with the console's
    `decode` command (`channels` per streamed chunk, 0: the default); returns the board's model line
    and the host's DecodeMode for the mode it loads in (AUTO decodes at load in this board's arena)."""
    from dcagent.link import console_command, console_model
    from host.runtime import DecodeMode

    assert console_command(port, f"decode {mode} {channels}" if channels else f"decode {mode}", timeout_s=60) == "ok"
    return console_model(port), DecodeMode.AT_LOAD if mode == "auto" else DecodeMode[mode.upper()]


def flashed_mlperf_models(board, samples: int):
    """Flash the four MLPerf Tiny models (lossless) onto `board` one after the other; after each,
    yield (name, graph, output tensor spec, `samples` seeded int8 inputs, the container)."""
    import numpy as np

    for version, name in enumerate(MLPERF_MODELS, start=1):
        g = mlperf_graph(name)
        container = mlperf_container(name, version_code(version))
        flash(board.port, container, confirm=True)
        (spec,), (out,) = g.input_tensors(), g.output_tensors()
        yield name, g, out, np.random.default_rng(version).integers(-128, 128, size=(samples, *spec.shape),
                                                                    dtype=np.int8), container


def test_qemu_m4_update_cycle(tmp_path):
    m1, m2 = tagged(version_code(1), 8000, seed=1), tagged(version_code(2), 6000, seed=2)
    with board_running("qemu-m4", tmp_path) as board:
        report = flash(board.port, m1, confirm=True)
        assert report.confirmed and active_hash(board.port) == sha(m1)
        with pytest.raises(DeviceError) as info:
            flash(board.port, tagged(version_code(3), 3000, key=OTHER_KEY))
        assert info.value.code == IMG_MGMT_ERR.INVALID_TLV
        with pytest.raises(DeviceError) as info:
            flash(board.port, tagged(version_code(0, 9), 3000))
        assert info.value.code == IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER
        report = flash(board.port, m2)
        assert report.trial and active_hash(board.port) == sha(m2)

        async def reset():
            async with SmpSession(board.port) as s:
                await s.request(ResetWrite(), "reset")
                await asyncio.sleep(0.3)
        asyncio.run(reset())
        assert active_hash(board.port) == sha(m1)  # not confirmed: reverted at the reset

        with serial.Serial(board.port, 115200, timeout=2) as link:
            link.reset_input_buffer()
            link.write(b"name%")
            assert link.read_until(b"m-ready\r\n") == b"m-name-dut-[dcagent]\r\nm-ready\r\n"
    with board_running("qemu-m4", tmp_path) as board:  # QEMU restarted on the same flash file
        assert active_hash(board.port) == sha(m1)
        report = flash(board.port, m2, confirm=True)
        assert report.confirmed and not report.uploaded and active_hash(board.port) == sha(m2)


def test_qemu_m4_sigkill_mid_upload_resumes(tmp_path):
    import threading

    from dcagent.errors import TransportError
    from dcagent.link import Relay
    from dcagent.link.relay import TO_DEVICE
    from tests.link_boards import kill9

    m1, m2 = tagged(version_code(1), 2000, seed=1), tagged(version_code(2), 24000, seed=2)
    with board_running("qemu-m4", tmp_path) as board:
        flash(board.port, m1, confirm=True)
        killed = threading.Event()

        def on_bytes(direction, total):
            if direction == TO_DEVICE and total > 16000 and not killed.is_set():
                killed.set()
                kill9(board)

        with Relay(board.port, on_bytes=on_bytes) as relay:
            with pytest.raises(TransportError):
                flash(relay.port, m2, timeout_s=0.5, retries=1, reset_timeout_s=1.0)
    with board_running("qemu-m4", tmp_path) as board:
        assert active_hash(board.port) == sha(m1)
        report = flash(board.port, m2, confirm=True)
        assert report.resumed_at and report.resumed_at[0] >= 4096
        assert active_hash(board.port) == sha(m2)


@pytest.mark.slow
def test_qemu_m4_mlperf_models_equal_the_reference(tmp_path):
    """The four MLPerf Tiny int8 models, compressed losslessly, delivered and run over SMP on the
    Cortex-M4 with its DSP kernels (scratch from the runtime): every output equals the host
    reference interpreter's; each inference is one span in the instruction-count log."""
    import numpy as np

    from dcagent.link import infer, inference_instructions
    from host.reference import run as reference_run

    with board_running("qemu-m4", tmp_path) as board:
        for name, g, out, x, _ in flashed_mlperf_models(board, 2):
            for i, result in enumerate(infer(board.port, x, timeout_s=60)):
                (expected,) = reference_run(g, [x[i]])
                got = np.frombuffer(result.output, dtype=np.int8).reshape(out.shape)
                bad = np.flatnonzero(got.reshape(-1) != expected.reshape(-1))
                assert bad.size == 0, f"{name} sample {i}: element {bad[0]}: {got.reshape(-1)[bad[0]]} vs " \
                                      f"{expected.reshape(-1)[bad[0]]}"
                assert result.cycles > 0  # the port's counter (virtual cycles)
        spans = inference_instructions(board.instructions().marks)
    # one span per inference; each at least one instruction per MAC of the smallest model (AD, 264 K)
    assert len(spans) == 2 * len(MLPERF_MODELS) and all(n > 264_000 for n in spans), spans


@pytest.mark.slow
def test_cli_infer_on_qemu_m4_saves_exact_instructions(tmp_path, capsys):
    """`dcagent infer --board qemu-m4`: outputs checked against the host reference, and the
    exact instructions of each inference from the plugin's log in OUT.npz."""
    import numpy as np

    from dcagent.cli import main
    from tests.link_models import DEVICE_KEY, model

    state, key = str(tmp_path / "state"), DEVICE_KEY.hex()
    path = tmp_path / "m.dcb"
    path.write_bytes(model(version_code(1), 5000, seed=4))
    assert main(["flash", str(path), "--board", "qemu-m4", "--state", state, "--device-key", key, "--provision",
                 "--confirm"]) == 0
    x = np.random.default_rng(3).integers(-128, 128, size=(3, 1, 500), dtype=np.int8)
    np.savez(tmp_path / "d.npz", x=x)
    out = tmp_path / "out.npz"
    assert main(["infer", "--board", "qemu-m4", "--state", state, "--data", str(tmp_path / "d.npz"),
                 "-o", str(out)]) == 0
    assert "3 inferences: every output equals the host reference" in capsys.readouterr().out
    with np.load(out) as saved:
        instructions = saved["instructions"].tolist()
        assert saved["y"].shape == (3, 1, 10)
    # one 500x10 fully connected layer: at least a few instructions per MAC, the same for every input
    assert len(set(instructions)) == 1 and 5000 < instructions[0] < 200_000, instructions


@pytest.mark.slow
def test_qemu_m4_mlperf_models_in_every_decode_mode(tmp_path):
    """The four MLPerf Tiny models on the Cortex-M4 (DSP kernels) reloaded in each decode mode with the
    console's `decode` command: PER_LAYER, STREAMED in chunks of 16 output channels and of 7 (no layer's
    channel count is a multiple of 7, so every streamed layer ends on a short, mostly odd chunk), and
    AUTO (decoded at load in this board's 384 KiB arena). Every output equals the host reference
    interpreter's; the device's arena shrinks from one mode to the next, and is in every mode, to the
    byte, what the host's runtime computes for this board (`arena_size(device=Device.CORTEX_M_DSP)`),
    which differs from the host's own figure (64-bit tables, no kernel scratch)."""
    import numpy as np

    from dcagent.link import console_command, infer
    from host.reference import run as reference_run
    from host.runtime import Device, arena_size

    with board_running("qemu-m4", tmp_path) as board:
        for name, g, out, x, container in flashed_mlperf_models(board, 1):
            (expected,) = reference_run(g, [x[0]])
            arenas = {}
            for mode, channels in (("per_layer", 16), ("streamed", 16), ("streamed", 7), ("auto", 0)):
                line, decode = reload_in_mode(board.port, mode, channels)
                assert line["status"] == "DC_OK"
                assert line["decode"] == ("at_load" if mode == "auto" else mode), line
                if mode == "streamed":
                    assert line["chunk"] == str(channels)
                arenas[(mode, channels)] = int(line["arena"].split("/")[0])
                sized = {d: arena_size(container, decode, stream_channels=channels or None, device=d) for d in Device}
                assert arenas[(mode, channels)] == sized[Device.CORTEX_M_DSP] != sized[Device.HOST], \
                    (name, mode, channels, arenas[(mode, channels)], sized)
                (result,) = infer(board.port, x, timeout_s=120)
                got = np.frombuffer(result.output, dtype=np.int8).reshape(out.shape)
                bad = np.flatnonzero(got.reshape(-1) != expected.reshape(-1))
                assert bad.size == 0, f"{name} {mode} {channels}: element {bad[0]}: {got.reshape(-1)[bad[0]]} " \
                                      f"vs {expected.reshape(-1)[bad[0]]}"
            assert arenas[("streamed", 16)] < arenas[("per_layer", 16)] < arenas[("auto", 0)], arenas
        with pytest.raises(DeviceError):
            console_command(board.port, "decode sideways")


def test_qemu_m4_runs_per_tensor_conv_weights_in_every_decode_mode(tmp_path):
    """MLPerf KWS with one weight scale per CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED tensor (TFLite
    per-tensor quantization, as `pack` writes the compressor's one-step options) on the Cortex-M4's DSP
    kernels: per layer, streamed in chunks of 7 and at load, every output equals the host reference
    interpreter's and the arena is the host's CORTEX_M_DSP figure."""
    import numpy as np

    from dcagent.link import infer
    from host.reference import run as reference_run
    from host.runtime import Device, arena_size
    from tests.link_models import one_scale, tagged_graph

    g = one_scale(mlperf_graph("kws_ref_model"))
    container = tagged_graph(g, version_code(1), "kws_ref_model")
    (spec,), (out,) = g.input_tensors(), g.output_tensors()
    x = np.random.default_rng(11).integers(-128, 128, size=(1, *spec.shape), dtype=np.int8)
    (expected,) = reference_run(g, [x[0]])
    with board_running("qemu-m4", tmp_path) as board:
        flash(board.port, container, confirm=True)
        for mode, channels in (("per_layer", 0), ("streamed", 7), ("auto", 0)):
            line, decode = reload_in_mode(board.port, mode, channels)
            sized = arena_size(container, decode, stream_channels=channels or None, device=Device.CORTEX_M_DSP)
            assert line["status"] == "DC_OK" and int(line["arena"].split("/")[0]) == sized, (mode, line)
            (result,) = infer(board.port, x, timeout_s=120)
            got = np.frombuffer(result.output, dtype=np.int8).reshape(out.shape)
            assert np.array_equal(got, expected.reshape(out.shape)), (mode, got, expected)


def test_qemu_m4_reference_kernels_arena_is_the_hosts_cortex_m_figure(tmp_path):
    """The Cortex-M4 firmware built with the reference kernels (no kernel scratch) needs, in each decode
    mode, exactly the arena the host computes for `Device.CORTEX_M`: 32-bit tables, which the host sizes
    with the record sizes the firmware's own 32-bit build checks. Less than on the host itself."""
    from host.runtime import Device, arena_size

    container = mlperf_container("kws_ref_model", version_code(1))
    with board_running("qemu-m4", tmp_path, kernels="ref") as board:
        flash(board.port, container, confirm=True)
        for mode, channels in (("per_layer", 0), ("streamed", 8), ("auto", 0)):
            line, decode = reload_in_mode(board.port, mode, channels)
            ours = arena_size(container, decode, stream_channels=channels or None, device=Device.CORTEX_M)
            assert line["status"] == "DC_OK" and int(line["arena"].split("/")[0]) == ours, (mode, line)
            assert ours < arena_size(container, decode, stream_channels=channels or None)
