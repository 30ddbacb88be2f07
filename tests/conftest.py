"""Shared test fixtures: paths to the repository and to the shared reference models."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MLPERF_TINY = ROOT.parent / "shared" / "models" / "mlperf-tiny"
BUNDLED_MODELS = ROOT / "examples" / "models"


@pytest.fixture(scope="session")
def mlperf_tiny() -> Path:
    """The MLPerf Tiny reference models: ../shared (beside the clone), else the bundled copy."""
    if MLPERF_TINY.is_dir():
        return MLPERF_TINY
    pytest.fail(f"MLPerf Tiny models not found at {MLPERF_TINY}; tests expect shared/ beside the clone")
from mqtt_broker import *  # noqa: E402,F401,F403 - fleet broker fixtures (tests/mqtt_broker.py)
