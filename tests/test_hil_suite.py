"""Suite files, thresholds, baselines, the energy estimate and instruction-count bookkeeping."""
from pathlib import Path

import pytest

from dcagent.boards import Mark
from hil.drivers.qemu import counts_from_marks
from hil.errors import SuiteError
from hil.meters import estimate_energy
from hil.resources import BOARDS, STM32L4R5, board_resource
from hil.results import Metrics, check
from hil.suite import BaselineEntry, Thresholds, load_baseline, load_suite, save_baseline

ROOT = Path(__file__).resolve().parents[1]
HAR = ROOT / "examples" / "har"


def write_suite(tmp_path, body: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(body)
    return path


def minimal(extra_model: str = "", extra: str = "", boards: str = '[[boards]]\nname = "host"\n') -> str:
    return (f'[suite]\nname = "t"\nbaseline = "b.json"\n{extra}\n[[models]]\nname = "har"\n'
            f'model = "{HAR / "model_int8.tflite"}"\ndata = "{HAR / "eval.npz"}"\n{extra_model}\n{boards}')


def test_suite_parses_models_boards_thresholds(tmp_path):
    path = write_suite(tmp_path, minimal(
        extra_model="samples = 7\nthresholds = { accuracy_drop = 0.02 }",
        extra="samples = 3\n[thresholds]\nlatency_ms = 5\naccuracy_drop = 0.5",
        boards='[[boards]]\nname = "qemu-m4"\n[[boards]]\nname = "m4-ref"\nbase = "qemu-m4"\nkernels = "ref"\n'
               'console = ["version"]\n'))
    suite = load_suite(path)
    model = suite.models[0]
    assert model.samples == 7
    assert model.thresholds.accuracy_drop == 0.02 and model.thresholds.latency_ms == 5
    assert [c.key for c in suite.cases()] == ["har@qemu-m4", "har@m4-ref"]
    ref = suite.boards[1]
    assert ref.resource.kernels == "ref" and ref.resource.machine == "qemu-m4" and ref.console == ("version",)
    assert ref.resource.clock_hz == 25_000_000
    assert suite.baseline == tmp_path / "b.json"
    assert [c.key for c in suite.cases(["m4-ref"])] == ["har@m4-ref"]
    with pytest.raises(SuiteError, match="no board"):
        suite.cases(["qemu-m7"])


@pytest.mark.parametrize("body, message", [
    ("[suite\n", "not valid TOML"),
    (minimal(extra="[thresholds]\nlatency = 5"), "unknown threshold"),
    (minimal(extra="[thresholds]\nlatency_ms = -1"), ">= 0"),
    (minimal(extra_model='thresholds = { arena_bytes = "big" }'), "number"),
    (minimal(boards=""), "no \\[\\[boards\\]\\]"),
    (minimal(boards='[[boards]]\nname = "nope"\n'), "unknown board"),
    (minimal(boards='[[boards]]\nname = "x"\nbase = "qemu-m4"\nkernels = "fast"\n'), "kernels"),
    (minimal(boards='[[boards]]\nname = "x"\nbase = "host"\nspeed = 3\n'), "unknown field"),
    (minimal(extra_model="colour = 1"), "unknown field"),
    (minimal(extra="[suite.step_timeouts]\nboot = 3"), "unknown step"),
    (minimal(extra='device_key = "zz"'), "not hex"),
    ('[[models]]\nname = "a"\nmodel = "missing.tflite"\ndata = "random"\n[[boards]]\nname = "host"\n', "not found"),
])
def test_suite_errors_name_the_problem(tmp_path, body, message):
    with pytest.raises(SuiteError, match=message):
        load_suite(write_suite(tmp_path, body))


def test_thresholds_and_regressions():
    t = Thresholds(accuracy_drop=0.01, latency_ms=10.0, arena_bytes=1000, instructions_regression=0.02,
                   accuracy_regression=0.0, size_regression=0.0)
    good = Metrics(accuracy=0.95, reference_accuracy=0.955, instructions=1_000_000, latency_ms=9.9,
                   arena_bytes=1000, bitstream_bytes=500)
    base = BaselineEntry(accuracy=0.95, instructions=990_000, arena_bytes=1000, bitstream_bytes=500)
    assert check(good, t, base) == []
    slow = Metrics(accuracy=0.95, reference_accuracy=0.95, instructions=1_020_000, latency_ms=10.5, arena_bytes=1001,
                   bitstream_bytes=500)
    found = {(v.metric, v.kind) for v in check(slow, t, base)}
    assert found == {("latency_ms", "threshold"), ("arena_bytes", "threshold"), ("instructions", "regression"),
                     ("arena_bytes", "regression")}
    damaged = Metrics(accuracy=0.80, reference_accuracy=0.95)
    found = {(v.metric, v.kind) for v in check(damaged, t, base)}
    assert found == {("accuracy_drop", "threshold"), ("accuracy", "regression")}
    assert check(damaged, t, None)[0].metric == "accuracy_drop"  # without a baseline: thresholds only
    assert check(Metrics(), t, base) == []  # nothing measured, nothing judged


def test_baseline_round_trip(tmp_path):
    path = tmp_path / "sub" / "b.json"
    assert load_baseline(path) == {}
    entries = {"m@qemu-m4": BaselineEntry(accuracy=0.9, instructions=123.5, arena_bytes=10)}
    save_baseline(path, "t", entries)
    assert load_baseline(path) == entries
    path.write_text("{not json")
    with pytest.raises(SuiteError, match="malformed"):
        load_baseline(path)


def test_energy_estimate_from_the_datasheet_profile():
    # 110 uA/MHz x 3.3 V = 0.363 nJ per cycle; at 1 instruction per cycle, 1e6 instructions = 363 uJ
    assert STM32L4R5.nj_per_instruction == pytest.approx(0.363)
    e = estimate_energy(STM32L4R5, instructions=1_000_000)
    assert e.joules == pytest.approx(363e-6) and e.basis == "instructions"
    assert "ESTIMATE" in e.label and "DS12023" in e.label
    assert estimate_energy(STM32L4R5, instructions=1e6, cycles=2e6).basis == "cycles"
    assert estimate_energy(STM32L4R5) is None
    assert BOARDS["qemu-m4"].energy is STM32L4R5 and BOARDS["qemu-m7"].energy is None


def test_board_resource_overrides():
    r = board_resource("mine", base="nucleo-l4r5zi", port="/dev/ttyUSB3")
    assert r.kind == "serial" and r.port == "/dev/ttyUSB3" and r.pio_env == "nucleo_l4r5zi"
    assert board_resource("lab", kind="serial", port="/dev/x").clock_hz is None
    with pytest.raises(SuiteError, match="unknown board"):
        board_resource("lab")
    with pytest.raises(SuiteError, match="machine"):
        board_resource("q", kind="qemu")


def test_counts_from_profile_marks():
    # As the firmware marks them: inference region 2, op k in region 16 + k, back to 2 between
    # ops, 0 at the end (Mark(region, previous, instructions spent in previous, running total)).
    marks = [Mark(2, 0, 50, 1000), Mark(16, 2, 10, 1010), Mark(2, 16, 300, 1310), Mark(17, 2, 5, 1315),
             Mark(2, 17, 93, 1408), Mark(0, 2, 12, 1420)]
    total, layers = counts_from_marks(marks)
    assert total == 420
    assert layers == (300, 93)
    assert counts_from_marks([]) == (None, None)
    assert counts_from_marks([Mark(2, 0, 5, 10)]) == (None, None)  # never came back: no complete inference


def test_a_board_without_an_arena_report_is_sized_for_its_own_firmware():
    # tiny.dcb's least arena differs on all three devices: host 64-bit tables, Cortex-M 32-bit
    # tables, and the armv7em kernels' CONV_2D scratch on top of those.
    from hil.drivers.base import sized_by_host
    from host.runtime import DecodeMode, Device, arena_size

    container = (Path(__file__).parent / "vectors/model/tiny.dcb").read_bytes()
    least = {d: arena_size(container, DecodeMode.AUTO, device=d) for d in Device}
    assert len(set(least.values())) == 3
    for board, device in (("native", Device.HOST), ("qemu-m4", Device.CORTEX_M_DSP),
                          ("nucleo-l4r5zi", Device.CORTEX_M_DSP)):
        assert Device[BOARDS[board].runtime_device] is device
    ref = board_resource("qemu-m4-ref", base="qemu-m4", kernels="ref")
    assert Device[ref.runtime_device] is Device.CORTEX_M
    for resource, device in ((BOARDS["native"], Device.HOST), (BOARDS["qemu-m33"], Device.CORTEX_M_DSP),
                             (ref, Device.CORTEX_M)):
        loaded = sized_by_host(resource, container, ["flashed"])
        assert loaded.arena_bytes == least[device] and loaded.arena_source == "host runtime"
        assert loaded.container_bytes == len(container)
        assert loaded.notes[0] == "flashed" and "reported no arena" in loaded.notes[1]
        assert device.name.lower().replace("_", "-") in loaded.notes[1]
