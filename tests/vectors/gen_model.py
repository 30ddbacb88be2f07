"""Golden vectors of the model runtime (docs/bitstream.md section 4, "Graph"; firmware/lib/include/dc_model.h).

`tiny.dcb` is a small int8 model using most ops and every level rule (tests/model_samples.py;
its conv and fully connected biases by rule scaled); `tiny_raw.dcb` the same graph with every
payload raw (scaled biases as raw int32 levels, the conv bias then read a chunk at a time when
streamed); `tiny.in0.bin` is one input and `tiny.out<k>.bin` the reference interpreter's outputs
for it, which the C runtime must reproduce from both files in every decode mode. Each `neg_*.dcb` is a valid container whose graph the runtime
must refuse with the status in its `.expect` file (one per graph-builder status). They also seed
the graph builder's fuzz target (tests/fuzz/fuzz_model_load.c).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host.reference import run  # noqa: E402
from tests.model_samples import broken_containers, tiny_container, tiny_graph, tiny_inputs  # noqa: E402

SPEC = "docs/bitstream.md section 4 (Graph), firmware/lib/include/dc_model.h"


def generate(outdir: Path) -> list[str]:
    """Write the model vectors under `outdir`; returns the relative paths written."""
    written = []
    graph = tiny_graph()
    (outdir / "tiny.dcb").write_bytes(tiny_container())
    (outdir / "tiny.expect").write_text("status DC_OK\n")
    (outdir / "tiny_raw.dcb").write_bytes(tiny_container(codec="raw"))
    (outdir / "tiny_raw.expect").write_text("status DC_OK\n")
    written += ["tiny.dcb", "tiny.expect", "tiny_raw.dcb", "tiny_raw.expect"]
    inputs = tiny_inputs(graph, 1)[0]
    (outdir / "tiny.in0.bin").write_bytes(inputs[0].tobytes())
    written.append("tiny.in0.bin")
    for k, output in enumerate(run(graph, inputs)):
        (outdir / f"tiny.out{k}.bin").write_bytes(output.tobytes())
        written.append(f"tiny.out{k}.bin")
    for name, (data, status) in sorted(broken_containers().items()):
        (outdir / f"{name}.dcb").write_bytes(data)
        (outdir / f"{name}.expect").write_text(f"status {status}\n")
        written += [f"{name}.dcb", f"{name}.expect"]
    return written


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "model"
    out.mkdir(exist_ok=True)
    print("\n".join(generate(out)))
