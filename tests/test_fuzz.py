"""Every libFuzzer target runs for a short, bounded time seeded with the golden vectors.

`make fuzz-long` runs them for an hour each; this test runs each for FUZZ_SECONDS (default 20).
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent / "fuzz"
ROOT = FUZZ.parents[1]
TARGETS = sorted(p.stem for p in FUZZ.glob("fuzz_*.c"))

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]


@pytest.fixture(scope="module")
def built():
    if shutil.which("clang") is None:
        pytest.fail("clang is not installed: run `make setup` (the fuzz targets need libFuzzer)")
    subprocess.run(["make", "-s", "-C", str(FUZZ), "build"], check=True)


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_finds_nothing(built, target, tmp_path):
    seconds = os.environ.get("FUZZ_SECONDS", "20")
    first_line = (FUZZ / f"{target}.c").read_text().splitlines()[0]
    match = re.search(r"corpus:\s*(\S+)", first_line)
    assert match, f"{target}.c must name its seed corpus on its first line"
    seeds = ROOT / match.group(1)
    assert seeds.is_dir() and any(seeds.iterdir()), f"no seed vectors in {seeds}"
    corpus = tmp_path / "corpus"  # new inputs; a crashing input goes to tmp_path/crash/, not the cwd
    corpus.mkdir()
    (tmp_path / "crash").mkdir()
    result = subprocess.run(
        [str(FUZZ / "build" / target), f"-max_total_time={seconds}", "-print_final_stats=1",
         "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path / 'crash'}/", str(corpus), str(seeds)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, f"{target} found a crash (input saved in {tmp_path / 'crash'}):\n{result.stderr[-4000:]}"
    assert "stat::number_of_executed_units" in result.stderr
