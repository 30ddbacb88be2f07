"""results.json: the whole run as data (the schema is RunResult.to_json / CaseResult.to_json)."""
from __future__ import annotations

import json
from pathlib import Path

from hil.report.files import write_text_atomic


def write_json(run, path: Path) -> Path:
    return write_text_atomic(path, json.dumps(run.to_json(), indent=2, allow_nan=False, default=str) + "\n")
