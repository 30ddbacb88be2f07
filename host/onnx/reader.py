"""Read an ONNX model (float32) into the graph IR: `read_onnx`.

The lowered graph has TensorFlow Lite semantics (host/graph), so every pass, the coder and the
device runtime handle it unchanged. Activations that are 4-D (NCHW in ONNX) are stored NHWC,
graph inputs included; `OnnxModel.input_perms` says how to lay out data given as the ONNX
model takes it (host/model_file.py does that for the CLI). docs/compression.md, "ONNX import",
lists the op mapping and what is refused.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from host.errors import ModelError
from host.graph import Graph, Problem, UnsupportedModelError, find_problems
from host.onnx import constants, elementwise, layers, pooling, shapes
from host.onnx.layout import Activation
from host.onnx.lowering import Lowering, Node, Refused, describe_node
from host.onnx.proto import ParsedModel, parse_model
from host.passes.fold import fold_batch_norm

CONVERTERS = {**layers.CONVERTERS, **elementwise.CONVERTERS, **pooling.CONVERTERS, **shapes.CONVERTERS}
SUPPORTED_HINT = ("supported ONNX ops: " + ", ".join(sorted(CONVERTERS))
                  + " (and any op on constants only: " + ", ".join(sorted(constants.FOLDABLE - set(CONVERTERS)))
                  + ", Shape, Size)")


@dataclass(frozen=True)
class OnnxModel:
    """A lowered ONNX model.

    `input_shapes` are the graph inputs' ONNX shapes (batch 1); `input_perms[i]` and
    `output_perms[i]` map stored axes to ONNX axes (stored axis k holds ONNX axis perm[k]):
    (0, 2, 3, 1) for a 4-D NCHW value stored NHWC, the identity otherwise.
    """

    graph: Graph
    input_shapes: tuple[tuple[int, ...], ...]
    input_perms: tuple[tuple[int, ...], ...]
    output_perms: tuple[tuple[int, ...], ...]
    opset: int


def _attributes(proto) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in proto.attribute}


def find_unsupported(parsed: ParsedModel) -> list[Problem]:
    """Every node the importer cannot lower, with its index, op type and name (before any work)."""
    constant = set(parsed.initializers)
    problems = []
    for index, proto in enumerate(parsed.nodes):
        where = describe_node(index, proto)
        if proto.domain not in ("", "ai.onnx"):
            problems.append(Problem(index, where, f"op {proto.op_type} of domain {proto.domain!r} is not supported"))
            continue
        present = [n for n in proto.input if n]
        if proto.op_type in constants.SHAPE_OPS or (
                all(n in constant for n in present)
                and (proto.op_type in constants.FOLDABLE or proto.op_type in CONVERTERS)):
            constant.update(n for n in proto.output if n)
            continue
        if proto.op_type not in CONVERTERS:
            detail = " on activations (only on constants)" if proto.op_type in constants.FOLDABLE else ""
            problems.append(Problem(index, where, f"op {proto.op_type} is not supported{detail}"))
    return problems


def _unsupported(problems: list[Problem]) -> UnsupportedModelError:
    error = UnsupportedModelError(problems)
    error.hint = SUPPORTED_HINT
    return error


def lower(parsed: ParsedModel) -> OnnxModel:
    """Lower a parsed model; raises `UnsupportedModelError` listing every problem found."""
    problems = find_unsupported(parsed)
    if problems:
        raise _unsupported(problems)
    lw = Lowering(parsed)
    lw.uses.update(n for proto in parsed.nodes for n in proto.input if n)
    lw.uses.update(parsed.outputs)
    for name, array in parsed.initializers.items():
        lw.values[name] = array
    lw.lower_inputs()
    inputs = [lw.values[i.name] for i in parsed.inputs if isinstance(lw.values.get(i.name), Activation)]
    for index, proto in enumerate(parsed.nodes):
        node = Node(index, proto, _attributes(proto))
        if any(n in lw.failed for n in proto.input if n):
            lw.failed.update(n for n in proto.output if n)  # already reported upstream
            continue
        try:
            if proto.op_type in constants.SHAPE_OPS:
                constants.fold_shape(lw, node)
            elif all(lw.is_constant(n) for n in proto.input if n):
                constants.fold(lw, node)
            else:
                CONVERTERS[proto.op_type](lw, node)
        except Refused as exc:
            lw.refuse(node, str(exc))
    output_perms = lw.lower_outputs()
    if lw.problems:
        raise _unsupported(lw.problems)
    graph, _ = fold_batch_norm(lw.graph)
    producer = " ".join(p for p in (parsed.proto.producer_name, parsed.proto.producer_version) if p)
    graph.description = f"ONNX ({producer or 'unknown producer'}, opset {parsed.opset})"
    problems = find_problems(graph)
    if problems:
        raise _unsupported(problems)
    return OnnxModel(graph, tuple(v.shape for v in inputs), tuple(v.perm for v in inputs),
                     tuple(output_perms), parsed.opset)


def read_onnx(source: str | os.PathLike | bytes | bytearray | memoryview) -> OnnxModel:
    """Read an ONNX model (a path or its bytes) and lower it to the graph IR.

    Raises `ModelError` when the file cannot be read, is corrupt or truncated, or is not an
    ONNX model, and `UnsupportedModelError` (a `ModelError`) listing every unsupported node
    (op type, index and name) or attribute before any work is done.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    try:
        return lower(parse_model(data))
    except ModelError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, UnicodeDecodeError, MemoryError) as exc:
        raise ModelError(f"corrupt ONNX file: {type(exc).__name__}: {exc}") from exc
