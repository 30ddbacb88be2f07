"""Lower a parsed ONNX graph to the graph IR, node by node (converters in host/onnx/*.py).

Order of work: (1) list every node the importer cannot handle, before anything else, and
raise them all together; (2) fold constant subgraphs and lower the rest, collecting every
node whose attributes cannot be expressed (raised together); (3) fold the MUL/ADD-by-constant
chains left behind (batch norm not after a layer, MatMul + Add bias) into the layers before
them and validate the graph.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from host.graph import (
    NO_TENSOR, Activation as FusedActivation, DType, Graph, Op, OpKind, Problem, Tensor, UnsupportedModelError,
)
from host.onnx.layout import Activation, default_perm
from host.onnx.proto import FLOAT, ParsedModel

Value = Activation | np.ndarray

# Op kinds whose options carry a fused activation the importer may set.
FUSABLE_KINDS = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED, OpKind.ADD, OpKind.MUL)


class Refused(Exception):
    """A node cannot be lowered; the message says why (collected as a Problem)."""


@dataclass(frozen=True)
class Node:
    """One ONNX node being lowered: its position, protobuf, decoded attributes and location."""

    index: int
    proto: object  # onnx.NodeProto
    attrs: dict

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def where(self) -> str:
        return describe_node(self.index, self.proto)

    def attr(self, name: str, default=None):
        return self.attrs.get(name, default)

    def input(self, position: int) -> str | None:
        names = self.proto.input
        return names[position] if position < len(names) and names[position] else None

    def output(self, position: int) -> str | None:
        names = self.proto.output
        return names[position] if position < len(names) and names[position] else None


def describe_node(index: int, proto) -> str:
    name = f" {proto.name!r}" if proto.name else ""
    return f"node {index} {proto.op_type}{name}"


@dataclass
class Lowering:
    """The state of one import: the graph being built and what each ONNX value lowered to."""

    parsed: ParsedModel
    graph: Graph = field(default_factory=Graph)
    values: dict[str, Value] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    producers: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    uses: Counter = field(default_factory=Counter)

    @property
    def opset(self) -> int:
        return self.parsed.opset

    # -- reading a node's operands ------------------------------------------------------------
    def activation(self, node: Node, position: int) -> Activation:
        """The lowered activation of input `position`; Refused when it is absent or constant."""
        name = node.input(position)
        value = self.values.get(name) if name is not None else None
        if value is None:
            raise Refused(f"input {position} is missing")
        if not isinstance(value, Activation):
            raise Refused(f"input {position} ({name!r}) is a constant where an activation is expected")
        return value

    def constant(self, node: Node, position: int, *, optional: bool = False) -> np.ndarray | None:
        """The value of constant input `position` (None when optional and absent); else Refused."""
        name = node.input(position)
        if name is None:
            if optional:
                return None
            raise Refused(f"input {position} is missing")
        value = self.values.get(name)
        if value is None:
            raise Refused(f"input {position} ({name!r}) is not defined")
        if isinstance(value, Activation):
            raise Refused(f"input {position} ({name!r}) must be a constant, not computed at run time")
        return value

    def is_constant(self, name: str | None) -> bool:
        return name is None or isinstance(self.values.get(name), np.ndarray)

    # -- building the graph ------------------------------------------------------------------
    def add_tensor(self, name: str, shape: tuple[int, ...], dtype: DType = DType.FLOAT32,
                   data: np.ndarray | None = None) -> int:
        self.graph.tensors.append(Tensor(name=name, shape=tuple(int(d) for d in shape), dtype=dtype, data=data))
        return len(self.graph.tensors) - 1

    def add_constant(self, name: str, array: np.ndarray, dtype: DType = DType.FLOAT32) -> int:
        data = np.ascontiguousarray(np.asarray(array, dtype=dtype.numpy))
        return self.add_tensor(name, data.shape, dtype, data)

    def emit(self, kind: OpKind, inputs: tuple[int, ...], name: str, shape: tuple[int, ...], options,
             perm: tuple[int, ...] | None = None, feature_order: np.ndarray | None = None) -> Activation:
        """Add op `kind` computing a new tensor `name` of ONNX shape `shape`, stored permuted by `perm`."""
        perm = default_perm(len(shape)) if perm is None else perm
        value = Activation(0, tuple(int(d) for d in shape), perm, feature_order)
        index = self.add_tensor(name, value.stored_shape)
        self.graph.ops.append(Op(kind, tuple(inputs), (index,), options))
        self.producers[index] = len(self.graph.ops) - 1
        return Activation(index, value.shape, perm, feature_order)

    def define(self, name: str | None, value: Value) -> None:
        if name is not None:
            self.values[name] = value

    def producer_op(self, node: Node, position: int) -> Op | None:
        """The op computing input `position` when this node is its only reader, else None.

        Only a tensor created for exactly this ONNX value qualifies (not an alias made by
        Identity or a fused activation), and never a graph output.
        """
        name = node.input(position)
        value = self.values.get(name) if name else None
        if not isinstance(value, Activation) or self.uses[name] != 1 or name in self.parsed.outputs:
            return None
        if self.graph.tensors[value.index].name != name or value.index not in self.producers:
            return None
        return self.graph.ops[self.producers[value.index]]

    def fuse_activation(self, node: Node, activation: FusedActivation) -> Activation | None:
        """Set `activation` on the op producing input 0, if it has none and only this node reads it."""
        op = self.producer_op(node, 0)
        if op is None or op.kind not in FUSABLE_KINDS or op.options.activation is not FusedActivation.NONE:
            return None
        op.options = dataclasses.replace(op.options, activation=activation)
        return self.take_over(node)

    def take_over(self, node: Node) -> Activation:
        """Output 0 of `node` becomes input 0's tensor (renamed), after an op was folded into it.

        Only for an input `producer_op` returned: this node was its only reader.
        """
        value = self.values[node.input(0)]
        self.graph.tensors[value.index].name = node.output(0) or self.graph.tensors[value.index].name
        self.define(node.output(0), value)
        return value

    # -- graph inputs and outputs ------------------------------------------------------------
    def lower_inputs(self) -> None:
        for graph_input in self.parsed.inputs:
            where = f"graph input {graph_input.name!r}"
            if graph_input.elem_type != FLOAT:
                self.problems.append(Problem(None, where, "only float32 inputs are supported"))
                self.failed.add(graph_input.name)
                continue
            if graph_input.dims is None:
                self.problems.append(Problem(None, where, "has no shape"))
                self.failed.add(graph_input.name)
                continue
            dims = list(graph_input.dims)
            if dims and dims[0] is None:
                dims[0] = 1  # a dynamic batch dimension: the device runs one sample at a time
            if any(d is None for d in dims):
                self.problems.append(Problem(None, where, f"has dynamic dimensions {graph_input.dims} "
                                             "beyond the batch dimension"))
                self.failed.add(graph_input.name)
                continue
            if dims and dims[0] != 1:
                self.problems.append(Problem(None, where, f"has batch size {dims[0]}; the device runs batch 1"))
            shape = tuple(dims)
            perm = default_perm(len(shape))
            value = Activation(0, shape, perm)
            index = self.add_tensor(graph_input.name, value.stored_shape)
            self.graph.inputs.append(index)
            self.values[graph_input.name] = Activation(index, shape, perm)

    def lower_outputs(self) -> list[tuple[int, ...]]:
        """Set the graph outputs; return each output's permutation (stored axis -> ONNX axis)."""
        perms = []
        for name in self.parsed.outputs:
            value = self.values.get(name)
            if name in self.failed:
                continue
            if not isinstance(value, Activation):
                self.problems.append(Problem(None, f"graph output {name!r}",
                                             "is a constant or undefined (nothing to run)"))
                continue
            if value.feature_order is not None:
                self.problems.append(Problem(None, f"graph output {name!r}", "would come out in a permuted "
                                             "feature order (a flattened NCHW tensor needs a transpose)"))
                continue
            self.graph.outputs.append(value.index)
            perms.append(value.perm)
        return perms

    def refuse(self, node: Node, message: str) -> None:
        self.problems.append(Problem(node.index, node.where, message))
        self.failed.update(n for n in node.proto.output if n)

    def raise_problems(self) -> None:
        if self.problems:
            raise UnsupportedModelError(self.problems)


def bias_or_none(lw: Lowering, op: Op) -> np.ndarray | None:
    """The float bias of a layer op (None when it has none)."""
    if len(op.inputs) < 3 or op.inputs[2] == NO_TENSOR:
        return None
    return np.asarray(lw.graph.tensors[op.inputs[2]].data)
