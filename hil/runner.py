"""Run a suite: every case through its board's strategy, each under a watchdog; judge the
measurements against thresholds and the baseline; optionally write the new baseline.

A case that fails to run (build error, board crash, hang, link failure, refused model) becomes
an "error" result carrying the board's log; the run always goes on to the next case.
"""
from __future__ import annotations

import datetime as _dt
import platform
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from hil.drivers import create_driver
from hil.errors import HilError
from hil.meters import create_meter, estimate_energy
from hil.models import PreparedModel, accuracy, prepare_model
from hil.results import CaseResult, Layer, Metrics, Violation, baseline_entry, case_result, check
from hil.strategies import InferenceStrategy, RawMeasurement
from hil.suite import Case, Suite, load_baseline, save_baseline

#: How much of a board's log a result keeps (the end of it).
LOG_TAIL_CHARS = 20_000


class Progress(Protocol):
    def case_started(self, case: Case, index: int, total: int) -> None: ...
    def step(self, case: Case, name: str) -> None: ...
    def sample(self, case: Case, done: int, total: int) -> None: ...
    def case_finished(self, case: Case, result: CaseResult) -> None: ...


class _Quiet:
    def case_started(self, case, index, total): pass
    def step(self, case, name): pass
    def sample(self, case, done, total): pass
    def case_finished(self, case, result): pass


@dataclass
class RunResult:
    suite: str
    suite_path: str
    started: str
    duration_s: float
    cases: list[CaseResult]
    baseline: str | None
    baseline_updated: bool
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.status == "passed" for c in self.cases)

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "error": 0}
        for c in self.cases:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def to_json(self) -> dict:
        return {"suite": self.suite, "suite_path": self.suite_path, "started": self.started,
                "duration_s": self.duration_s, "baseline": self.baseline, "baseline_updated": self.baseline_updated,
                "environment": self.environment, "summary": self.counts(),
                "cases": [c.to_json() for c in self.cases]}


def _environment() -> dict[str, str]:
    from dcagent import __version__
    env = {"dcagent": __version__, "python": platform.python_version(), "host": platform.platform()}
    try:
        from dcagent.boards.firmware import firmware_version
        env["firmware"] = firmware_version()
    except Exception:  # noqa: BLE001 - informational only
        pass
    return env


def measure(raw: RawMeasurement, prepared: PreparedModel, case: Case) -> tuple[Metrics, list[str]]:
    """Metrics of one measured case. Raises HilError when the board's outputs do not fit the model."""
    resource = case.board.resource
    notes: list[str] = []
    n = len(raw.inferences)
    m = Metrics(samples=n, reference_accuracy=prepared.reference_accuracy)
    if n:
        sizes = {len(i.output) for i in raw.inferences}
        expected = prepared.host_outputs.shape[1]
        if sizes != {expected}:
            raise HilError(f"the board answered outputs of {sorted(sizes)} bytes; the model has {expected}")
        outputs = np.stack([np.frombuffer(i.output, dtype=np.int8) for i in raw.inferences])
        m.exact_outputs = int(np.sum(np.all(outputs == prepared.host_outputs[:n], axis=1)))
        m.accuracy = accuracy(outputs, None if prepared.data.y is None else prepared.data.y[:n])
        m.wall_s_per_inference = float(np.mean([i.wall_s for i in raw.inferences]))
        counts = [i.instructions for i in raw.inferences]
        if all(c is not None for c in counts):
            m.instructions = float(np.mean(counts))
            m.instructions_min, m.instructions_max = int(min(counts)), int(max(counts))
        cycles = [i.cycles for i in raw.inferences]
        if all(c is not None for c in cycles):
            m.cycles = float(np.mean(cycles))
        layered = [i.layers for i in raw.inferences if i.layers]
        if layered:
            width = max(len(layers) for layers in layered)
            means = [float(np.mean([layers[k] if k < len(layers) else 0 for layers in layered])) for k in range(width)]
            m.layers = [Layer(op=k, name=prepared.op_names[k] if k < len(prepared.op_names) else f"op{k}",
                              instructions=int(round(v))) for k, v in enumerate(means)]
    clock = resource.clock_hz
    if clock and m.cycles:
        m.latency_ms = m.cycles / clock * 1e3
        m.latency_basis = f"cycles at {clock / 1e6:g} MHz (measured)"
    elif clock and m.instructions:
        m.latency_ms = m.instructions / clock * 1e3
        m.latency_basis = f"ESTIMATE: instructions at {clock / 1e6:g} MHz, 1 instruction per cycle assumed"
    if raw.acquisition is not None and n:
        m.energy_uj = raw.acquisition.energy_j / n * 1e6
        m.energy_source = f"meter:{raw.acquisition.meter}"
        m.energy_label = (f"measured by {raw.acquisition.meter} over {raw.acquisition.duration_s:.3f} s, "
                          f"{n} inferences including their link I/O")
    elif resource.energy is not None:
        estimate = estimate_energy(resource.energy, instructions=m.instructions, cycles=m.cycles)
        if estimate is not None:
            m.energy_uj = estimate.joules * 1e6
            m.energy_source = "estimate"
            m.energy_label = estimate.label
    if raw.model is not None:
        m.arena_bytes = raw.model.arena_bytes
        m.arena_source = raw.model.arena_source
        notes += raw.model.notes
    m.bitstream_bytes = len(prepared.container)
    if raw.firmware is not None and raw.firmware.flash_bytes is not None:
        m.firmware_flash_bytes = raw.firmware.flash_bytes
        m.flash_bytes = raw.firmware.flash_bytes + m.bitstream_bytes
    return m, notes


def _fit_violations(m: Metrics, case: Case) -> list[Violation]:
    r = case.board.resource
    out = []
    if r.ram_bytes and m.arena_bytes and m.arena_bytes > r.ram_bytes:
        out.append(Violation("arena_bytes", "threshold", m.arena_bytes, r.ram_bytes,
                             f"arena {m.arena_bytes} bytes does not fit the board's {r.ram_bytes} bytes of RAM"))
    if r.flash_bytes and m.bitstream_bytes and m.bitstream_bytes > r.flash_bytes:
        out.append(Violation("bitstream_bytes", "threshold", m.bitstream_bytes, r.flash_bytes,
                             f"bitstream {m.bitstream_bytes} bytes does not fit the board's {r.flash_bytes}-byte slot"))
    return out


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    hint = getattr(exc, "hint", None)
    return f"{text} (hint: {hint})" if hint else text


def run_case(case: Case, prepared: PreparedModel | BaseException, suite: Suite, baseline, *,
             check_baseline: bool, progress: Progress) -> CaseResult:
    """Measure and judge one case; never raises for a board or model failure."""
    result = case_result(case)
    began = time.monotonic()
    if isinstance(prepared, BaseException):
        result.error = f"preparing the model failed: {_describe(prepared)}"
        result.duration_s = time.monotonic() - began
        return result
    resource = case.board.resource
    try:
        driver = create_driver(resource, device_key=suite.device_key)
        meter = create_meter(resource.meter) if resource.meter else None
    except HilError as exc:
        result.error = _describe(exc)
        return result

    def on_step(name: str) -> None:
        result.steps.append(name)
        progress.step(case, name)

    loader, delivery = None, None
    if case.board.delivery == "mqtt":
        from hil.delivery import MqttDelivery, load_over_mqtt
        delivery = MqttDelivery(folder=suite.work_dir / case.key if suite.work_dir else None,
                                key=suite.publisher_key)

        def loader(container: bytes, timeout_s: float):
            return load_over_mqtt(driver, delivery, container, timeout_s,
                                  on_state=lambda state: progress.step(case, f"load model (mqtt): {state}"))
    strategy = InferenceStrategy(driver, suite.step_timeout, meter=meter, on_step=on_step,
                                 on_sample=lambda done, total: progress.sample(case, done, total), loader=loader)
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            if meter is not None:
                with meter:
                    outcome["raw"] = strategy.run(prepared.container, prepared.input_bytes, case.board.console)
            else:
                outcome["raw"] = strategy.run(prepared.container, prepared.input_bytes, case.board.console)
        except BaseException as exc:  # noqa: BLE001 - reported as the case's error
            outcome["error"] = exc
            outcome["state"] = strategy.failed_in or strategy.state
            outcome["trace"] = traceback.format_exc()

    worker = threading.Thread(target=work, name=f"case {case.key}", daemon=True)
    worker.start()
    worker.join(suite.timeout_s)
    if worker.is_alive():
        state = strategy.state
        driver.kill()
        worker.join(10.0)
        result.error = f"the case did not finish within {suite.timeout_s:g} s (stuck in '{state}'); the board was killed"
    elif "error" in outcome:
        result.error = f"{outcome['state']}: {_describe(outcome['error'])}"  # type: ignore[arg-type]
        code = driver.exit_code
        if code is not None:
            result.error += f" [board exited with status {code}]"
    else:
        try:
            metrics, notes = measure(outcome["raw"], prepared, case)  # type: ignore[arg-type]
        except HilError as exc:
            result.error = _describe(exc)
        else:
            result.metrics, result.notes = metrics, notes
            base = baseline.get(case.key) if check_baseline else None
            result.violations = check(metrics, case.model.thresholds, base) + _fit_violations(metrics, case)
            result.status = "failed" if result.violations else "passed"
            if check_baseline and base is None:
                result.notes.append("no baseline entry for this case yet (run with --update-baseline)")
    result.log = driver.logs()[-LOG_TAIL_CHARS:]
    if delivery is not None:
        if delivery.last is not None and delivery.last.statuses:
            result.log += "\n--- fleet statuses (s since announce: state) ---\n" + "\n".join(
                f"{t:7.2f}: {s.state.value}" + (f" ({s.detail[:120]})" if s.detail else "")
                for t, s in delivery.last.statuses)
        delivery.close()
    raw = outcome.get("raw")
    if raw is not None and raw.console:  # type: ignore[union-attr]
        result.notes += [f"console {line!r} -> {answer!r}" for line, answer in raw.console]  # type: ignore[union-attr]
    result.duration_s = time.monotonic() - began
    return result


def run_suite(suite: Suite, *, boards: list[str] | None = None, update_baseline: bool = False,
              progress: Progress | None = None) -> RunResult:
    """Run every case of `suite` (only `boards` when given). Raises SuiteError for a bad board
    selection or baseline; board and model failures become case results."""
    progress = progress or _Quiet()
    cases = suite.cases(boards)
    baseline = load_baseline(suite.baseline)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    began = time.monotonic()
    prepared: dict[str, PreparedModel | BaseException] = {}
    results = []
    for index, case in enumerate(cases):
        progress.case_started(case, index, len(cases))
        if case.model.name not in prepared:
            progress.step(case, "prepare model")
            try:
                prepared[case.model.name] = prepare_model(case.model)
            except Exception as exc:  # noqa: BLE001 - a bad model fails its cases, not the run
                prepared[case.model.name] = exc
        result = run_case(case, prepared[case.model.name], suite, baseline,
                          check_baseline=not update_baseline, progress=progress)
        results.append(result)
        progress.case_finished(case, result)
    updated = False
    if update_baseline and suite.baseline is not None:
        for result in results:
            if result.status != "error":
                baseline[result.key] = baseline_entry(result.metrics)
        save_baseline(suite.baseline, suite.name, baseline)
        updated = True
    return RunResult(suite=suite.name, suite_path=str(suite.path), started=started,
                     duration_s=time.monotonic() - began, cases=results,
                     baseline=None if suite.baseline is None else str(suite.baseline), baseline_updated=updated,
                     environment=_environment())
