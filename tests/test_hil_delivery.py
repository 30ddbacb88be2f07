"""Boards with `delivery = "mqtt"`: the model reaches the board through a real mosquitto, a
publisher and a `dcagent agent` process (hil/delivery.py), then the harness measures it."""
from pathlib import Path

import pytest

from hil.errors import SuiteError
from hil.runner import run_suite
from hil.suite import load_suite, one_case_suite
from host.model_format import pack
from host.tflite import read_model

ROOT = Path(__file__).resolve().parents[1]
HAR = ROOT / "examples" / "har"


def suite_text(tmp_path: Path, model: Path, board: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(f'[suite]\nname = "fleet"\nsamples = 8\ntimeout_s = 180\n'
                    f'[thresholds]\naccuracy_drop = 0.0\n'
                    f'[[models]]\nname = "har"\nmodel = "{model}"\ndata = "{HAR / "eval.npz"}"\n{board}')
    return path


def test_a_model_delivered_over_mqtt_runs_bit_exact_and_the_result_says_how(tmp_path):
    suite = load_suite(suite_text(tmp_path, HAR / "model_int8.tflite",
                                  '[[boards]]\nname = "native"\ndelivery = "mqtt"\n'))
    result = run_suite(suite)
    case = result.cases[0]
    assert case.status == "passed", case.error or case.violations
    assert case.metrics.exact_outputs == case.metrics.samples == 8
    delivered = [n for n in case.notes if n.startswith("delivered over MQTT")]
    assert delivered and delivered[0].split(": ", 1)[1].startswith("downloading > verifying > verified > flashing")
    assert " > confirmed in " in delivered[0]
    assert "--- fleet statuses" in case.log and "confirmed" in case.log


def test_a_model_for_another_cpu_is_refused_by_the_agent_and_reported(tmp_path):
    graph = read_model((HAR / "model_int8.tflite").read_bytes())
    dcb = tmp_path / "har-m7.dcb"
    dcb.write_bytes(pack(graph, name="har", version=1, target="cortex-m7"))
    result = run_suite(one_case_suite("har", dcb, HAR / "eval.npz", "native", samples=4, timeout_s=120,
                                      step_timeouts={"load_model": 60}))
    case = result.cases[0]
    assert case.status == "error"
    assert "MQTT delivery failed: the update ended rejected (wrong_target)" in case.error
    assert "cortex-m7" in case.error and case.metrics.samples == 0


def test_the_delivery_field_is_checked(tmp_path):
    with pytest.raises(SuiteError, match="delivery must be one of smp, mqtt"):
        load_suite(suite_text(tmp_path, HAR / "model_int8.tflite", '[[boards]]\nname = "native"\ndelivery = "ftp"\n'))
    with pytest.raises(SuiteError, match="needs a board with a serial port"):
        load_suite(suite_text(tmp_path, HAR / "model_int8.tflite", '[[boards]]\nname = "host"\ndelivery = "mqtt"\n'))
    with pytest.raises(SuiteError, match="no serial port"):
        one_case_suite("har", HAR / "model_int8.tflite", None, "host")
