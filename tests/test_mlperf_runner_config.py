"""bench/mlperf_runner.py: the files it writes for the MLPerf Tiny runner, read back the way
the runner reads them (yaml, csv.DictReader with its field names), and the port-list launcher
part, without the runner itself."""
import csv
import os
import pty

import numpy as np
import pytest
import yaml
from serial.tools import list_ports

from bench import mlperf_runner as mr

RUNNER_FIELDS = ["file", "classes", "class", "bytes_to_send", "stride"]  # datasets.py


def read_labels(path):
    with open(path) as f:
        return list(csv.DictReader(f, fieldnames=RUNNER_FIELDS))


@pytest.mark.parametrize("model", sorted(mr.BENCHMARKS))
def test_config_files_as_the_runner_reads_them(tmp_path, model):
    bench = mr.BENCHMARKS[model]
    mr.write_config(tmp_path, model)
    (dut,) = yaml.safe_load((tmp_path / "devices.yaml").read_text())
    assert dut == {"name": "dcagent", "type": "dut", "check_name": "dcagent", "baud": 115200,
                   "usb": {0x1209: 0x0001}}
    tests = yaml.safe_load((tmp_path / "tests.yaml").read_text())
    assert tests == {model: {"name": bench.name, "model": model, "truth_file": "y_labels.csv",
                             "script": [{"loop 5": ["download", f"infer {bench.iterations} {bench.warmups}"]}]}}
    rows = read_labels(tmp_path / "datasets" / model / "y_labels.csv")
    assert len(rows) == 5
    for i, row in enumerate(rows):
        data = (tmp_path / "datasets" / model / row["file"]).read_bytes()
        assert len(data) == bench.file_bytes
        assert int(row["classes"]) == bench.classes and int(row["class"]) == i % bench.classes
        if model == "ad01":  # the runner sends one window of 5 x 128 float32 in performance mode
            assert (int(row["bytes_to_send"]), int(row["stride"])) == (2560, 512)
            assert np.isfinite(np.frombuffer(data, "<f4")).all()
        else:
            assert row["bytes_to_send"] is None and row["stride"] is None
    files = {row["file"]: (tmp_path / "datasets" / model / row["file"]).read_bytes() for row in rows}
    assert len(set(files.values())) == 5  # five different inputs


def test_iteration_override_and_bad_arguments(tmp_path):
    mr.write_config(tmp_path, "kws01", iterations=3000, warmups=0, baud=9600)
    assert yaml.safe_load((tmp_path / "tests.yaml").read_text())["kws01"]["script"] == [
        {"loop 5": ["download", "infer 3000 0"]}]
    assert yaml.safe_load((tmp_path / "devices.yaml").read_text())[0]["baud"] == 9600
    with pytest.raises(ValueError, match="unknown MLPerf Tiny model"):
        mr.write_config(tmp_path, "kws02")
    with pytest.raises(ValueError, match="iterations"):
        mr.write_config(tmp_path, "kws01", iterations=0)
    with pytest.raises(ValueError, match="files must be"):
        mr.write_config(tmp_path, "kws01", files=4)


def test_add_port_lists_a_pty_with_the_devices_yaml_vid_pid(monkeypatch):
    monkeypatch.setattr(list_ports, "comports", list_ports.comports)  # restored after the test
    master, slave = pty.openpty()
    try:
        port = os.ttyname(slave)
        assert all(p.device != port for p in list_ports.comports(True))  # a pty is not listed
        mr.add_port(port)
        listed = [p for p in list_ports.comports(True) if p.device == port]
        assert [(p.vid, p.pid) for p in listed] == [(mr.TEST_VID, mr.TEST_PID)]
    finally:
        os.close(master)
        os.close(slave)


def test_run_refuses_a_folder_without_main_py(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmark/runner"):
        mr.run_runner(tmp_path, "/dev/null", tmp_path, [])
