"""Whole runs: deliberate regressions are caught, a crashing or hanging board is a failed case
with its log while the run goes on, and the report files are well-formed.

Tests on `native` and `qemu-m4` need the firmware's model runtime (firmware/app/runtime_adapter.c).
Until it is wired in they FAIL, naming "the firmware has no model runtime yet": they do not skip.
"""
import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hil.report import write_reports
from hil.runner import run_suite
from hil.suite import load_suite
from host.graph import DType
from host.model_format import pack
from host.tflite import read_model

ROOT = Path(__file__).resolve().parents[1]
HAR = ROOT / "examples" / "har"
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc (.ci/setup installs them)")


def damaged_har(path: Path) -> Path:
    """har with its largest weight tensor negated: a model whose accuracy collapses."""
    graph = read_model((HAR / "model_int8.tflite").read_bytes())
    index = max((i for i, t in enumerate(graph.tensors) if t.data is not None and t.dtype is DType.INT8),
                key=lambda i: graph.tensors[i].data.size)
    weights = graph.tensors[index].data
    graph.tensors[index] = replace(graph.tensors[index], data=np.clip(-weights.astype(np.int16), -127, 127).astype(np.int8))
    path.write_bytes(pack(graph, name="har-damaged", version=1))
    return path


def suite_file(tmp_path: Path, *, model: Path, boards: str, samples: int = 40, reference: Path | None = None,
               thresholds: str = "accuracy_drop = 0.02", extra: str = "") -> Path:
    ref = f'reference = "{reference}"\n' if reference else ""
    text = (f'[suite]\nname = "test"\nbaseline = "baseline.json"\nsamples = {samples}\ntimeout_s = 120\n{extra}\n'
            f'[thresholds]\n{thresholds}\n'
            f'[[models]]\nname = "har"\nmodel = "{model}"\ndata = "{HAR / "eval.npz"}"\n{ref}\n{boards}')
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def assert_no_runtime_gap(result):
    """A readable failure while the firmware has no runtime (instead of a confusing one)."""
    for case in result.cases:
        assert "no model runtime yet" not in case.error, (
            f"{case.key}: the firmware has no model runtime yet (firmware/app/runtime_adapter.c): "
            "re-run after the runtime is wired in")


@pytest.mark.parametrize("board", ["host", "native"])
def test_a_damaged_layer_fails_on_accuracy(tmp_path, board):
    damaged = damaged_har(tmp_path / "har-damaged.dcb")
    result = run_suite(load_suite(suite_file(tmp_path, model=damaged, reference=HAR / "model_int8.tflite",
                                             boards=f'[[boards]]\nname = "{board}"\n')))
    assert_no_runtime_gap(result)
    (case,) = result.cases
    assert case.status == "failed", case.error
    assert case.metrics.reference_accuracy >= 0.95
    assert case.metrics.accuracy < case.metrics.reference_accuracy - 0.2
    assert [v.metric for v in case.violations] == ["accuracy_drop"]
    # the board computes exactly what the host runtime computes on the damaged model
    assert case.metrics.exact_outputs == case.metrics.samples


@needs_qemu
@pytest.mark.slow
@pytest.mark.qemu
def test_reference_kernels_are_an_instruction_regression(tmp_path):
    model = HAR / "model_int8.tflite"
    opt = suite_file(tmp_path, model=model, samples=5, boards='[[boards]]\nname = "qemu-m4"\n',
                     thresholds="instructions_regression = 0.01")
    first = run_suite(load_suite(opt), update_baseline=True)
    assert_no_runtime_gap(first)
    assert first.cases[0].status == "passed", first.cases[0].error
    baseline = json.loads((tmp_path / "baseline.json").read_text())["cases"]["har@qemu-m4"]
    assert baseline["instructions"] > 0
    ref = suite_file(tmp_path, model=model, samples=5, thresholds="instructions_regression = 0.01",
                     boards='[[boards]]\nname = "qemu-m4"\nkernels = "ref"\n')
    second = run_suite(load_suite(ref))
    (case,) = second.cases
    assert case.status == "failed", case.error
    # Instructions regress; energy, estimated from instructions, regresses with them.
    regressed = {v.metric for v in case.violations if v.kind == "regression"}
    assert "instructions" in regressed and regressed <= {"instructions", "energy_uj", "latency_ms"}, case.violations
    assert case.metrics.instructions > baseline["instructions"] * 1.01
    assert case.metrics.accuracy == first.cases[0].metrics.accuracy  # same results, only slower
    assert len(case.metrics.layers) == 8 and sum(layer.instructions for layer in case.metrics.layers) > 0


def test_a_crashing_board_is_an_error_with_its_log_and_the_run_goes_on(tmp_path):
    boards = ('[[boards]]\nname = "crash"\nbase = "native"\nconsole = ["fault"]\n'
              '[[boards]]\nname = "host"\n')
    result = run_suite(load_suite(suite_file(tmp_path, model=HAR / "model_int8.tflite", boards=boards, samples=5)))
    crashed, host = result.cases
    assert crashed.status == "error"
    assert re.match(r"(console: fault|load model): ", crashed.error) and "[board exited with status 120]" in crashed.error
    assert "FAULT signal=SIGILL" in crashed.log
    assert host.status == "passed" and host.metrics.samples == 5


def test_a_hanging_board_times_out_and_is_killed(tmp_path):
    # `work 4000000000` keeps the native firmware busy for seconds: the console step's limit ends it
    boards = '[[boards]]\nname = "busy"\nbase = "native"\nconsole = ["work 4000000000"]\n'
    suite = suite_file(tmp_path, model=HAR / "model_int8.tflite", boards=boards, samples=5,
                       extra="[suite.step_timeouts]\nconsole = 0.5\n")
    (case,) = run_suite(load_suite(suite)).cases
    assert case.status == "error"
    assert re.search(r"console: work 4000000000: TransportError: no answer", case.error), case.error
    assert case.steps[-1] == "power off"


def test_the_watchdog_kills_a_case_that_overruns(tmp_path):
    boards = '[[boards]]\nname = "busy"\nbase = "native"\nconsole = ["work 4000000000"]\n'
    path = suite_file(tmp_path, model=HAR / "model_int8.tflite", boards=boards, samples=5,
                      extra="[suite.step_timeouts]\nconsole = 60\n")
    suite = replace(load_suite(path), timeout_s=1.0)
    (case,) = run_suite(suite).cases
    assert case.status == "error"
    assert "did not finish within 1 s" in case.error and "console: work" in case.error


def test_reports_are_well_formed_and_self_contained(tmp_path):
    damaged = damaged_har(tmp_path / "har-damaged.dcb")
    (tmp_path / "m").mkdir()
    suite = suite_file(tmp_path / "m", model=damaged, reference=HAR / "model_int8.tflite", samples=10,
                       boards='[[boards]]\nname = "host"\n[[boards]]\nname = "crash"\nbase = "native"\n'
                              'console = ["fault"]\n')
    result = run_suite(load_suite(suite))
    paths = write_reports(result, tmp_path / "out")
    doc = json.loads(paths["json"].read_text())
    assert doc["summary"] == {"passed": 0, "failed": 1, "error": 1}
    assert [c["key"] for c in doc["cases"]] == ["har@host", "har@crash"]
    assert doc["cases"][0]["metrics"]["accuracy_drop"] > 0.2
    root = ET.parse(paths["junit"]).getroot()
    assert root.tag == "testsuite" and root.attrib["tests"] == "2"
    assert root.attrib["failures"] == "1" and root.attrib["errors"] == "1"
    cases = root.findall("testcase")
    assert cases[0].find("failure") is not None and "accuracy drop" in cases[0].find("failure").attrib["message"]
    assert "FAULT" in cases[1].find("system-out").text
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)=["'](?!data:)""", page), "the report must not load anything"
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert images, "no embedded plots"
    import base64
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)


@needs_qemu
@pytest.mark.slow
@pytest.mark.qemu
def test_qemu_energy_is_labelled_an_estimate(tmp_path):
    suite = suite_file(tmp_path, model=HAR / "model_int8.tflite", samples=3, boards='[[boards]]\nname = "qemu-m4"\n')
    result = run_suite(load_suite(suite))
    assert_no_runtime_gap(result)
    (case,) = result.cases
    assert case.status == "passed", case.error
    m = case.metrics
    assert m.energy_source == "estimate" and "ESTIMATE" in m.energy_label and "DS12023" in m.energy_label
    assert m.energy_uj == pytest.approx(m.instructions * 0.363e-3)
    assert m.latency_ms == pytest.approx(m.instructions / 25e3) and m.latency_basis.startswith("ESTIMATE")
    page = write_reports(result, tmp_path / "out")["html"].read_text()
    assert "ESTIMATE" in page and "DS12023" in page
