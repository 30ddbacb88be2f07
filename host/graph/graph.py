"""The graph IR: tensors, ops in execution order, graph inputs and outputs."""
from __future__ import annotations

from dataclasses import dataclass, field

from host.graph.ops import OpKind, OpOptions
from host.graph.tensor import Tensor

# An op input index meaning "optional operand absent" (TFLite's -1, e.g. no bias).
NO_TENSOR = -1


@dataclass(eq=False)
class Op:
    """One op: `inputs`/`outputs` index `Graph.tensors` (NO_TENSOR for an absent optional input)."""

    kind: OpKind
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: OpOptions


@dataclass(eq=False)
class Graph:
    """A model as one graph: ops are stored in a valid execution (topological) order."""

    tensors: list[Tensor] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    def describe_op(self, index: int) -> str:
        """A one-line location of op `index` for error messages: index, kind, tensor names."""
        op = self.ops[index]
        kind = op.kind.value
        if op.kind is OpKind.UNSUPPORTED:
            kind = op.options.source_kind
        ins = ", ".join(self._tensor_label(i) for i in op.inputs)
        outs = ", ".join(self._tensor_label(i) for i in op.outputs)
        return f"op {index} {kind} ({ins}) -> ({outs})"

    def _tensor_label(self, index: int) -> str:
        if index == NO_TENSOR:
            return "-"
        if 0 <= index < len(self.tensors):
            return repr(self.tensors[index].name)
        return f"<bad tensor index {index}>"
