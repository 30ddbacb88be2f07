"""The report's plots, drawn with matplotlib (the `report` extra) into PNG bytes.

Each function returns None when the run has nothing to plot for it.
"""
from __future__ import annotations

import io


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def accuracy_vs_size(cases) -> bytes | None:
    points = [c for c in cases if c.metrics.accuracy is not None and c.metrics.bitstream_bytes]
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    labels: dict[tuple[float, float], list[str]] = {}
    for c in points:
        x, y = c.metrics.bitstream_bytes / 1024, c.metrics.accuracy * 100
        ax.scatter([x], [y], s=40, color="tab:red" if c.status == "failed" else "tab:blue")
        labels.setdefault((round(x, 3), round(y, 3)), []).append(c.key)
        if c.metrics.reference_accuracy is not None:
            ax.scatter([x], [c.metrics.reference_accuracy * 100], marker="_", s=200, color="gray")
    for (x, y), keys in labels.items():  # cases at the same point share one label
        ax.annotate(", ".join(keys), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("bitstream (.dcb) size, KiB")
    ax.set_ylabel("accuracy on the board, %  (grey bar: reference)")
    ax.set_title("Accuracy vs size")
    ax.grid(alpha=0.3)
    return _png(fig)


def _grouped(cases, value, ylabel: str, title: str, estimate) -> bytes | None:
    rows = [c for c in cases if value(c) is not None]
    if not rows:
        return None
    plt = _pyplot()
    models = sorted({c.model for c in rows})
    boards = sorted({c.board for c in rows})
    width = 0.8 / len(boards)
    fig, ax = plt.subplots(figsize=(max(6.4, 1.4 * len(models) * len(boards)), 4.0))
    for b, board in enumerate(boards):
        for m, model in enumerate(models):
            match = [c for c in rows if c.model == model and c.board == board]
            if not match:
                continue
            c = match[0]
            is_estimate = estimate(c)
            bar = ax.bar(m + b * width, value(c), width, color=f"C{b}", hatch="//" if is_estimate else None,
                         edgecolor="black", linewidth=0.5, label=board if m == 0 else None)
            ax.bar_label(bar, labels=[f"{value(c):.3g}" + ("*" if is_estimate else "")], fontsize=7)
    ax.set_xticks([m + width * (len(boards) - 1) / 2 for m in range(len(models))], models)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def latency(cases) -> bytes | None:
    return _grouped(cases, lambda c: c.metrics.latency_ms, "ms per inference",
                    "Latency per model and board (hatched, *: ESTIMATE from instructions at the board clock)",
                    lambda c: c.metrics.latency_basis.startswith("ESTIMATE"))


def instructions(cases) -> bytes | None:
    return _grouped(cases, lambda c: None if c.metrics.instructions is None else c.metrics.instructions / 1e6,
                    "million instructions per inference", "Instructions per model and board (exact, QEMU plugin)",
                    lambda c: False)


def energy(cases) -> bytes | None:
    return _grouped(cases, lambda c: c.metrics.energy_uj, "uJ per inference",
                    "Energy per model and board (hatched, *: ESTIMATE from datasheet energy per instruction)",
                    lambda c: c.metrics.energy_source == "estimate")


def layer_profile(case) -> bytes | None:
    layers = case.metrics.layers
    if not layers:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.8 + 0.28 * len(layers)))
    labels = [f"{layer.op}: {layer.name}" for layer in layers]
    values = [layer.instructions for layer in layers]
    ax.barh(range(len(layers)), values, color="tab:blue")
    ax.set_yticks(range(len(layers)), labels, fontsize=8)
    ax.invert_yaxis()
    total = sum(values) or 1
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:,} ({v / total:.0%})", va="center", fontsize=7)
    ax.set_xlabel("instructions per inference")
    ax.set_title(f"Per-layer instruction profile: {case.key}")
    ax.margins(x=0.25)
    return _png(fig)
