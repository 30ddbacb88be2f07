"""What a run measured, and the checks that turn measurements into pass/fail.

`CaseResult.status`: "passed", "failed" (a threshold or a regression against the baseline),
"error" (the case could not be measured: a board that crashed, hung, or refused the model;
`error` and `log` say why). Energy is either measured by a meter or an ESTIMATE
(`energy_source` "estimate", `energy_label` with the datasheet citation).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from hil.suite import BaselineEntry, Case, Thresholds


@dataclass
class Layer:
    op: int
    name: str
    instructions: int


@dataclass
class Metrics:
    samples: int = 0
    accuracy: float | None = None             # board outputs vs labels
    reference_accuracy: float | None = None   # the reference model on the host
    exact_outputs: int | None = None          # samples whose board output == host runtime output, bit for bit
    instructions: float | None = None         # mean per inference (exact on QEMU)
    instructions_min: int | None = None
    instructions_max: int | None = None
    cycles: float | None = None               # mean per inference (real boards' cycle counter)
    latency_ms: float | None = None
    latency_basis: str = ""
    energy_uj: float | None = None
    energy_source: str = ""                   # "estimate" or "meter:<kind>"
    energy_label: str = ""
    arena_bytes: int | None = None
    arena_source: str = ""
    bitstream_bytes: int | None = None
    firmware_flash_bytes: int | None = None
    flash_bytes: int | None = None            # firmware + .dcb
    wall_s_per_inference: float | None = None
    layers: list[Layer] = field(default_factory=list)

    @property
    def accuracy_drop(self) -> float | None:
        if self.accuracy is None or self.reference_accuracy is None:
            return None
        return self.reference_accuracy - self.accuracy


@dataclass
class Violation:
    metric: str
    kind: str        # "threshold" or "regression"
    value: float
    limit: float
    message: str


@dataclass
class CaseResult:
    model: str
    board: str
    key: str
    status: str = "error"
    metrics: Metrics = field(default_factory=Metrics)
    violations: list[Violation] = field(default_factory=list)
    error: str = ""
    log: str = ""
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["metrics"]["accuracy_drop"] = self.metrics.accuracy_drop
        return doc


def _rel(value: float, base: float) -> float:
    return (value - base) / base if base else (0.0 if value == base else float("inf"))


def check(metrics: Metrics, thresholds: Thresholds, baseline: BaselineEntry | None) -> list[Violation]:
    """Every threshold the metrics break, and every regression against `baseline`."""
    out: list[Violation] = []

    def limit(metric: str, value, top, text: str) -> None:
        if value is not None and top is not None and value > top:
            out.append(Violation(metric, "threshold", float(value), float(top), text.format(v=value, t=top)))

    t = thresholds
    limit("accuracy_drop", metrics.accuracy_drop, t.accuracy_drop,
          "accuracy drop {v:.2%} vs the reference exceeds {t:.2%}")
    limit("latency_ms", metrics.latency_ms, t.latency_ms, "latency {v:.3f} ms exceeds {t:g} ms")
    limit("energy_uj", metrics.energy_uj, t.energy_uj, "energy {v:.3f} uJ per inference exceeds {t:g} uJ")
    limit("arena_bytes", metrics.arena_bytes, t.arena_bytes, "arena {v} bytes exceeds {t} bytes")
    limit("flash_bytes", metrics.flash_bytes, t.flash_bytes, "flash {v} bytes exceeds {t} bytes")
    limit("bitstream_bytes", metrics.bitstream_bytes, t.bitstream_bytes, "bitstream {v} bytes exceeds {t} bytes")
    if baseline is None:
        return out

    def grew(metric: str, value, base, tolerance, unit: str) -> None:
        if value is None or base is None or tolerance is None:
            return
        change = _rel(float(value), float(base))
        if change > tolerance:
            out.append(Violation(metric, "regression", float(value), float(base) * (1 + tolerance),
                                 f"{metric} {value:,.0f}{unit} is {change:+.2%} over the baseline {base:,.0f}{unit} "
                                 f"(allowed {tolerance:+.2%})"))

    grew("instructions", metrics.instructions, baseline.instructions, t.instructions_regression, "")
    grew("energy_uj", metrics.energy_uj, baseline.energy_uj, t.energy_regression, " uJ")
    grew("arena_bytes", metrics.arena_bytes, baseline.arena_bytes, t.size_regression, " B")
    grew("flash_bytes", metrics.flash_bytes, baseline.flash_bytes, t.size_regression, " B")
    grew("bitstream_bytes", metrics.bitstream_bytes, baseline.bitstream_bytes, t.size_regression, " B")
    if (metrics.accuracy is not None and baseline.accuracy is not None and t.accuracy_regression is not None
            and baseline.accuracy - metrics.accuracy > t.accuracy_regression + 1e-12):
        out.append(Violation("accuracy", "regression", metrics.accuracy, baseline.accuracy - t.accuracy_regression,
                             f"accuracy {metrics.accuracy:.2%} fell below the baseline {baseline.accuracy:.2%} "
                             f"(allowed drop {t.accuracy_regression:.2%})"))
    return out


def baseline_entry(metrics: Metrics) -> BaselineEntry:
    """What the baseline keeps of a case's metrics."""
    return BaselineEntry(accuracy=metrics.accuracy, instructions=metrics.instructions, energy_uj=metrics.energy_uj,
                         arena_bytes=metrics.arena_bytes, flash_bytes=metrics.flash_bytes,
                         bitstream_bytes=metrics.bitstream_bytes)


def case_result(case: Case) -> CaseResult:
    return CaseResult(model=case.model.name, board=case.board.resource.name, key=case.key)
