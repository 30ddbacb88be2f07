"""Suites: models x boards x data, with thresholds and a baseline, read from TOML.

```toml
[suite]
name = "ci"
baseline = "ci.baseline.json"   # relative to this file
samples = 50                    # per model unless the model says otherwise (0 = all)
timeout_s = 300                 # a whole case; each step has its own limit below
[suite.step_timeouts]           # seconds: flash_firmware, power_on, load_model, infer, console
infer = 10

[thresholds]                    # every case; a model's `thresholds` table overrides
accuracy_drop = 0.01            # reference accuracy - board accuracy (fraction)
latency_ms = 250                # estimated ms per inference at the board clock
energy_uj = 500                 # uJ per inference (measured or estimated)
arena_bytes = 65536
flash_bytes = 1048576           # firmware image + .dcb
bitstream_bytes = 65536         # the .dcb
instructions_regression = 0.02  # relative increase over the baseline that fails the case
accuracy_regression = 0.005     # absolute drop below the baseline's accuracy
energy_regression = 0.05
size_regression = 0.0           # arena, flash, bitstream bytes

[[models]]
name = "har"
model = "../../examples/har/model_int8.tflite"   # int8 .tflite (packed losslessly) or a .dcb
data = "../../examples/har/eval.npz"                # or "random": seeded int8 inputs, no labels
reference = "../../examples/har/model_int8.tflite"  # accuracy reference (default: `model`)
samples = 100
thresholds = { accuracy_drop = 0.02 }

[[boards]]
name = "qemu-m4"                 # a known board (hil/resources.py) ...
[[boards]]
name = "m4-ref"                  # ... or a variant of one
base = "qemu-m4"
kernels = "ref"
console = ["version"]            # console commands sent before the model is flashed
[[boards]]
name = "m4-fleet"
base = "qemu-m4"
delivery = "mqtt"                # the model goes through a local mosquitto and a gateway agent
                                 # process (hil/delivery.py) instead of a direct SMP upload
```
Every problem is a SuiteError naming the file and the field.
"""
from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from hil.errors import SuiteError
from hil.resources import BoardResource, board_resource

#: How a model reaches a board: a direct SMP upload, or the fleet path (hil/delivery.py).
DELIVERIES = ("smp", "mqtt")
STEPS = ("flash_firmware", "power_on", "load_model", "infer", "console")
_DEFAULT_STEP_TIMEOUTS = {"flash_firmware": 300.0, "power_on": 30.0, "load_model": 60.0, "infer": 10.0,
                          "console": 5.0}


@dataclass(frozen=True)
class Thresholds:
    """Limits a case must meet. None = not checked."""

    accuracy_drop: float | None = None
    latency_ms: float | None = None
    energy_uj: float | None = None
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    bitstream_bytes: int | None = None
    instructions_regression: float | None = 0.0
    accuracy_regression: float | None = 0.0
    energy_regression: float | None = 0.0
    size_regression: float | None = 0.0

    def merged(self, table: dict, where: str) -> "Thresholds":
        """These thresholds with the keys of `table` replaced. Raises SuiteError."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise SuiteError(f"{where}: unknown threshold(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key, value in table.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):
                raise SuiteError(f"{where}: threshold {key} must be a number >= 0, not {value!r}")
        return replace(self, **table)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model: Path
    data: Path | None       # None: seeded random int8 inputs, no labels (`data = "random"`)
    reference: Path | None
    samples: int
    thresholds: Thresholds


@dataclass(frozen=True)
class BoardEntry:
    resource: BoardResource
    console: tuple[str, ...] = ()
    delivery: str = "smp"   # "smp": direct upload; "mqtt": broker + publisher + gateway agent


@dataclass(frozen=True)
class Case:
    """One model on one board."""

    model: ModelEntry
    board: BoardEntry

    @property
    def key(self) -> str:
        """The baseline key: MODEL@BOARD."""
        return f"{self.model.name}@{self.board.resource.name}"


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    models: tuple[ModelEntry, ...]
    boards: tuple[BoardEntry, ...]
    baseline: Path | None
    timeout_s: float
    step_timeouts: dict[str, float] = field(default_factory=dict)
    device_key: bytes | None = None
    work_dir: Path | None = None       # where boards with delivery = "mqtt" keep broker and agent files
    publisher_key: Path | None = None  # private key that signs what they publish (default: one per run)

    def cases(self, boards: list[str] | None = None) -> list[Case]:
        """Every model on every board (only `boards` when given). Raises SuiteError for a board
        name the suite does not define."""
        chosen = list(self.boards)
        if boards:
            names = [b.resource.name for b in self.boards]
            missing = [b for b in boards if b not in names]
            if missing:
                raise SuiteError(f"{self.path}: no board(s) {', '.join(missing)} in the suite (has {', '.join(names)})")
            chosen = [b for b in self.boards if b.resource.name in boards]
        return [Case(m, b) for m in self.models for b in chosen]

    def step_timeout(self, step: str) -> float:
        return self.step_timeouts.get(step, _DEFAULT_STEP_TIMEOUTS[step])


def _need(table: dict, key: str, kind: type | tuple[type, ...], where: str):
    if key not in table:
        raise SuiteError(f"{where}: missing `{key}`")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SuiteError(f"{where}: `{key}` has the wrong type ({type(value).__name__})")
    return value


def _file(base: Path, value: str, where: str) -> Path:
    path = (base / value).resolve()
    if not path.is_file():
        raise SuiteError(f"{where}: file not found: {value} ({path})")
    return path


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file. Raises SuiteError (with file and field) for any problem."""
    path = Path(path).resolve()
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SuiteError(f"cannot read suite {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from exc
    base = path.parent
    unknown = sorted(set(doc) - {"suite", "thresholds", "models", "boards"})
    if unknown:
        raise SuiteError(f"{path}: unknown table(s) {', '.join(unknown)}")
    head = doc.get("suite", {})
    name = str(head.get("name", path.stem))
    samples = head.get("samples", 0)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise SuiteError(f"{path} [suite]: samples must be an integer >= 0")
    timeout = head.get("timeout_s", 600)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise SuiteError(f"{path} [suite]: timeout_s must be > 0")
    steps = head.get("step_timeouts", {})
    bad = sorted(set(steps) - set(STEPS))
    if bad:
        raise SuiteError(f"{path} [suite.step_timeouts]: unknown step(s) {', '.join(bad)}; known: {', '.join(STEPS)}")
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0 for v in steps.values()):
        raise SuiteError(f"{path} [suite.step_timeouts]: timeouts must be numbers > 0")
    key = None
    if "device_key" in head:
        try:
            key = bytes.fromhex(str(head["device_key"]))
        except ValueError as exc:
            raise SuiteError(f"{path} [suite]: device_key is not hex") from exc
        if not 1 <= len(key) <= 64:
            raise SuiteError(f"{path} [suite]: device_key must be 1..64 bytes")
    defaults = Thresholds().merged(doc.get("thresholds", {}), f"{path} [thresholds]")

    models = []
    for i, table in enumerate(doc.get("models", [])):
        where = f"{path} [[models]] #{i + 1}"
        mname = str(_need(table, "name", str, where))
        where = f"{path} model {mname!r}"
        extra = sorted(set(table) - {"name", "model", "data", "reference", "samples", "thresholds"})
        if extra:
            raise SuiteError(f"{where}: unknown field(s) {', '.join(extra)}")
        msamples = table.get("samples", samples)
        if isinstance(msamples, bool) or not isinstance(msamples, int) or msamples < 0:
            raise SuiteError(f"{where}: samples must be an integer >= 0")
        reference = table.get("reference")
        models.append(ModelEntry(
            name=mname,
            model=_file(base, _need(table, "model", str, where), where),
            data=None if table.get("data") == "random" else _file(base, _need(table, "data", str, where), where),
            reference=None if reference is None else _file(base, str(reference), where),
            samples=msamples,
            thresholds=defaults.merged(table.get("thresholds", {}), where),
        ))
    if not models:
        raise SuiteError(f"{path}: no [[models]]")
    if len({m.name for m in models}) != len(models):
        raise SuiteError(f"{path}: model names must be unique")

    boards = []
    for i, table in enumerate(doc.get("boards", [])):
        where = f"{path} [[boards]] #{i + 1}"
        bname = str(_need(table, "name", str, where))
        console = table.get("console", [])
        if not isinstance(console, list) or not all(isinstance(c, str) for c in console):
            raise SuiteError(f"{where}: console must be a list of strings")
        delivery = table.get("delivery", "smp")
        if delivery not in DELIVERIES:
            raise SuiteError(f"{where}: delivery must be one of {', '.join(DELIVERIES)}, not {delivery!r}")
        overrides = {k: v for k, v in table.items() if k not in ("name", "console", "delivery")}
        resource = board_resource(bname, **overrides)
        if delivery == "mqtt" and resource.kind == "host":
            raise SuiteError(f"{where}: delivery = \"mqtt\" needs a board with a serial port (not kind host)")
        boards.append(BoardEntry(resource, tuple(console), delivery))
    if not boards:
        raise SuiteError(f"{path}: no [[boards]]")
    if len({b.resource.name for b in boards}) != len(boards):
        raise SuiteError(f"{path}: board names must be unique")
    baseline = head.get("baseline")
    return Suite(name=name, path=path, models=tuple(models), boards=tuple(boards),
                 baseline=None if baseline is None else (base / str(baseline)).resolve(),
                 timeout_s=float(timeout), step_timeouts={k: float(v) for k, v in steps.items()}, device_key=key)


# ---- baseline ----

#: Metrics a baseline records per case (None when the case did not measure them).
BASELINE_METRICS = ("accuracy", "instructions", "energy_uj", "arena_bytes", "flash_bytes", "bitstream_bytes")


@dataclass(frozen=True)
class BaselineEntry:
    accuracy: float | None = None
    instructions: float | None = None
    energy_uj: float | None = None
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    bitstream_bytes: int | None = None


def load_baseline(path: Path | None) -> dict[str, BaselineEntry]:
    """Case key -> BaselineEntry; empty when there is no file yet. Raises SuiteError when malformed."""
    if path is None or not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
        cases = doc["cases"]
        return {key: BaselineEntry(**{k: v for k, v in entry.items() if k in BASELINE_METRICS})
                for key, entry in cases.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SuiteError(f"baseline {path} is malformed: {exc}") from exc


def save_baseline(path: Path, suite_name: str, entries: dict[str, BaselineEntry]) -> None:
    """Write the baseline atomically (temporary file + rename), keys sorted."""
    doc = {"version": 1, "suite": suite_name,
           "cases": {key: {k: v for k, v in asdict(entries[key]).items() if v is not None} for key in sorted(entries)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def one_case_suite(name: str, model: Path, data: Path | None, board: str, *, samples: int = 0,
                   delivery: str = "mqtt", thresholds: Thresholds = Thresholds(), timeout_s: float = 900.0,
                   step_timeouts: dict[str, float] | None = None, work_dir: Path | None = None,
                   publisher_key: Path | None = None) -> Suite:
    """A suite of one model on one known board, built in code (the main job's measurement).

    No baseline. Raises SuiteError for an unknown board or delivery."""
    if delivery not in DELIVERIES:
        raise SuiteError(f"delivery must be one of {', '.join(DELIVERIES)}, not {delivery!r}")
    resource = board_resource(board)
    if delivery == "mqtt" and resource.kind == "host":
        raise SuiteError(f"board {board!r} has no serial port for the agent: use delivery 'smp'")
    entry = ModelEntry(name=name, model=Path(model), data=None if data is None else Path(data), reference=None,
                       samples=samples, thresholds=thresholds)
    return Suite(name=name, path=Path(model), models=(entry,), boards=(BoardEntry(resource, (), delivery),),
                 baseline=None, timeout_s=timeout_s, step_timeouts=dict(step_timeouts or {}),
                 work_dir=work_dir, publisher_key=publisher_key)
