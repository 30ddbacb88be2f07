"""The standalone C vector test (firmware/tests/test_container_vectors.c) passes on every golden
container vector, built with the host gcc as C99 with warnings as errors, and fails on a wrong expectation."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "container"
SOURCES = [ROOT / "firmware" / "tests" / "test_container_vectors.c", ROOT / "firmware" / "lib" / "src" / "dc_status.c",
           *sorted((ROOT / "firmware" / "lib" / "src" / "container").glob("*.c"))]


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is not installed: run `make setup`")
    out = tmp_path_factory.mktemp("cvec") / "test_container_vectors"
    subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'firmware/lib/include'}",
                    "-o", str(out), *map(str, SOURCES)], check=True)
    return out


def test_c_reader_passes_every_vector(program):
    result = subprocess.run([str(program), str(VECTORS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    count = len(list(VECTORS.glob("*.dcb")))
    assert f"{count} vectors, 0 failures" in result.stdout


def test_c_vector_program_reports_a_wrong_expectation(program, tmp_path):
    for path in VECTORS.iterdir():
        shutil.copy(path, tmp_path / path.name)
    expect = tmp_path / "neg_hash.expect"
    expect.write_text(expect.read_text().replace("DC_ERR_HASH", "DC_ERR_MAGIC"))
    tagged = tmp_path / "tagged.expect"
    tagged.write_text(tagged.read_text().replace("tensor 1 ", "tensor 1 4"))
    result = subprocess.run([str(program), str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "FAIL neg_hash: dc_container_open: expected DC_ERR_MAGIC, found DC_ERR_HASH" in result.stdout
    assert "FAIL tagged: payload_offset" in result.stdout
