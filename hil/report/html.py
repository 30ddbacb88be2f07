"""The HTML report: one self-contained file (inline CSS, plots as base64 PNG data URIs)."""
from __future__ import annotations

import base64
import html
from pathlib import Path

from hil.report.files import write_text_atomic

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{background:#dff0d8}.failed{background:#f2dede}.error{background:#fcf8e3}
.estimate{font-style:italic;color:#8a5a00}pre{background:#f7f7f7;padding:6px;overflow-x:auto;font-size:12px}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _plots(run) -> str:
    try:
        from hil.report import plots
    except ImportError:
        return ""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ("<p class='error'>Plots are missing: matplotlib is not installed "
                "(<code>pip install dcagent[report]</code>).</p>")
    parts = ["<h2>Plots</h2>", _img(plots.accuracy_vs_size(run.cases), "accuracy vs size"),
             _img(plots.instructions(run.cases), "instructions"), _img(plots.latency(run.cases), "latency"),
             _img(plots.energy(run.cases), "energy")]
    profiles = [_img(plots.layer_profile(c), f"layer profile {c.key}") for c in run.cases if c.metrics.layers]
    if profiles:
        parts += ["<h3>Per-layer instruction profiles</h3>", *profiles]
    return "\n".join(parts)


def render_html(run) -> str:
    counts = run.counts()
    rows = []
    for c in run.cases:
        m = c.metrics
        energy = ""
        if m.energy_uj is not None:
            energy = f"{m.energy_uj:.3f}" + (" <span class='estimate'>ESTIMATE</span>" if m.energy_source == "estimate"
                                              else f" ({_e(m.energy_source)})")
        latency = ""
        if m.latency_ms is not None:
            latency = f"{m.latency_ms:.3f}" + (" <span class='estimate'>ESTIMATE</span>"
                                               if m.latency_basis.startswith("ESTIMATE") else "")
        rows.append(
            f"<tr class='{c.status}'><td>{_e(c.model)}</td><td>{_e(c.board)}</td><td>{_e(c.status)}</td>"
            f"<td class='num'>{m.samples}</td>"
            f"<td class='num'>{_num(None if m.accuracy is None else m.accuracy * 100, '.2f')}</td>"
            f"<td class='num'>{_num(None if m.reference_accuracy is None else m.reference_accuracy * 100, '.2f')}</td>"
            f"<td class='num'>{'' if m.exact_outputs is None else f'{m.exact_outputs}/{m.samples}'}</td>"
            f"<td class='num'>{_num(m.instructions, ',.0f')}</td><td class='num'>{latency}</td>"
            f"<td class='num'>{energy}</td><td class='num'>{_num(m.arena_bytes, ',')}</td>"
            f"<td class='num'>{_num(m.bitstream_bytes, ',')}</td><td class='num'>{_num(m.flash_bytes, ',')}</td></tr>")
    details = []
    for c in run.cases:
        items = [f"<li>{_e(v.kind)}: {_e(v.message)}</li>" for v in c.violations]
        items += [f"<li>{_e(n)}</li>" for n in c.notes]
        if c.metrics.latency_basis:
            items.append(f"<li>latency: {_e(c.metrics.latency_basis)}</li>")
        if c.metrics.energy_label:
            cls = " class='estimate'" if c.metrics.energy_source == "estimate" else ""
            items.append(f"<li{cls}>energy: {_e(c.metrics.energy_label)}</li>")
        error = f"<p><b>error:</b> {_e(c.error)}</p>" if c.error else ""
        log = f"<details><summary>board log</summary><pre>{_e(c.log)}</pre></details>" if c.log else ""
        details.append(f"<h3 class='{c.status}'>{_e(c.key)}: {_e(c.status)}</h3>{error}<ul>{''.join(items)}</ul>"
                       f"<p>steps: {_e(' -> '.join(c.steps))}</p>{log}")
    env = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in run.environment.items())
    estimates = sorted({c.metrics.energy_label for c in run.cases if c.metrics.energy_source == "estimate"})
    estimate_note = ""
    if estimates:
        estimate_note = ("<p class='estimate'><b>Energy marked ESTIMATE is not measured:</b> it is the measured "
                         "instruction (or cycle) count times an energy per instruction derived from the part's "
                         "datasheet run-mode current, assuming one instruction per cycle. Sources:</p><ul>"
                         + "".join(f"<li class='estimate'>{_e(s)}</li>" for s in estimates) + "</ul>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>HIL report: {_e(run.suite)}</title><style>{_CSS}</style></head>
<body>
<h1>Hardware-in-the-loop report: {_e(run.suite)}</h1>
<p>{_e(run.started)}, {run.duration_s:.1f} s: <b>{counts['passed']} passed, {counts['failed']} failed,
{counts['error']} errors</b>. Baseline: {_e(run.baseline or 'none')}{' (updated by this run)' if run.baseline_updated else ''}.</p>
<table>{env}</table>
<h2>Cases</h2>
<table><tr><th>model</th><th>board</th><th>status</th><th>samples</th><th>accuracy %</th><th>reference %</th>
<th>outputs = host</th><th>instructions</th><th>latency ms</th><th>energy uJ</th><th>arena B</th><th>bitstream B</th>
<th>flash B</th></tr>
{''.join(rows)}</table>
{estimate_note}
{_plots(run)}
<h2>Details</h2>
{''.join(details)}
</body></html>
"""


def write_html(run, path: Path) -> Path:
    return write_text_atomic(path, render_html(run))
