"""A suite model made ready for the boards: its container, its data in the input's int8 form,
and what the host expects (reference accuracy, the host runtime's outputs for exact comparison).

Prepared once per model and shared by every board of the run.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.data import Dataset, load_data
from host.graph import Graph
from host.model_format import pack, unpack
from host.runtime import Runtime
from host.tflite import read_model
from hil.suite import ModelEntry


@dataclass(frozen=True)
class PreparedModel:
    entry: ModelEntry
    container: bytes
    graph: Graph
    data: Dataset                      # x: int8 inputs as the model takes them (samples first)
    host_outputs: np.ndarray           # the host runtime's first output per sample (int8, flat)
    reference_accuracy: float | None   # the reference model on the host, on the same samples
    op_names: tuple[str, ...]

    @property
    def input_bytes(self) -> list[bytes]:
        return [np.ascontiguousarray(x).tobytes() for x in self.data.x]


def read_container(path: Path, name: str) -> tuple[bytes, Graph]:
    """(container, graph) of a .dcb, or of an int8 .tflite packed losslessly.

    Raises ModelError / BitstreamError for a model the host cannot read or pack.
    """
    raw = path.read_bytes()
    if path.suffix == ".dcb":
        return raw, unpack(raw)
    graph = read_model(raw)
    return pack(graph, name=name, version=1, compressor_settings={"mode": "lossless"}), graph


def predictions(outputs: np.ndarray) -> np.ndarray:
    """Class index per sample: the first index of the largest int8 output (the output scale is positive)."""
    return np.argmax(outputs.reshape(outputs.shape[0], -1).astype(np.int16), axis=1)


def accuracy(outputs: np.ndarray, labels: np.ndarray | None) -> float | None:
    if labels is None:
        return None
    return float(np.mean(predictions(outputs) == labels))


def run_host(container: bytes, x: np.ndarray) -> np.ndarray:
    """The host runtime's first output for every sample, int8 [N, outputs]. Raises as host.runtime."""
    runtime = Runtime(container)
    shape = runtime.inputs[0].shape
    return np.stack([runtime.run([sample.reshape(shape)])[0].reshape(-1) for sample in x])


#: Samples of `data = "random"` when the suite gives no count.
RANDOM_SAMPLES = 10


def random_data(graph: Graph, count: int, seed: int = 0) -> Dataset:
    """`count` seeded random int8 inputs for the graph's input, without labels (latency, energy
    and bit-exactness only: a model whose data set cannot be shipped, e.g. MLPerf Tiny's)."""
    shape = tuple(graph.tensors[graph.inputs[0]].shape[1:])
    x = np.random.default_rng(seed).integers(-128, 128, size=(count, *shape), dtype=np.int8)
    return Dataset(x, None)


def prepare_model(entry: ModelEntry) -> PreparedModel:
    """Read, pack, load the data (at most `entry.samples`, drawn with a fixed seed), run the host.

    Raises ModelError, BitstreamError, DataError (host)."""
    container, graph = read_container(entry.model, entry.name)
    if entry.data is None:
        data = random_data(graph, entry.samples or RANDOM_SAMPLES)
    else:
        data = load_data(entry.data, graph)
        if entry.samples:
            data = data.subset(entry.samples)
    host_outputs = run_host(container, data.x)
    if entry.reference is None:
        reference_outputs = host_outputs
    else:
        ref_container, _ = read_container(entry.reference, entry.name + "-reference")
        reference_outputs = run_host(ref_container, data.x)
    op_names = tuple(Runtime(container).op_names)
    return PreparedModel(entry=entry, container=container, graph=graph, data=data, host_outputs=host_outputs,
                         reference_accuracy=accuracy(reference_outputs, data.y), op_names=op_names)
