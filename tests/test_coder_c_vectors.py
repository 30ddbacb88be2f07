"""The firmware decoder, built with the host gcc (no Python in the loop), decodes every coder vector."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "firmware/tests/test_coder_vectors.c", ROOT / "firmware/lib/src/dc_status.c",
           *sorted((ROOT / "firmware/lib/src/coder").glob("*.c"))]


def test_c_decoder_matches_golden_vectors(tmp_path):
    if shutil.which("gcc") is None:
        pytest.fail("gcc is not installed: the C vector test needs a host compiler")
    exe = tmp_path / "test_coder_vectors"
    build = subprocess.run(
        ["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'firmware/lib/include'}",
         "-o", str(exe), *map(str, SOURCES)],
        capture_output=True, text=True)
    assert build.returncode == 0, f"build failed:\n{build.stderr}"
    run = subprocess.run([str(exe), str(ROOT / "tests/vectors/coder")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("ok:"), run.stdout
