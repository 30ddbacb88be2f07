"""Graph -> .dcb container: every constant entropy-coded, the graph in the metadata.

Layout of the graph in the metadata: docs/bitstream.md section 4 ("Graph"). In short: the
constant tensors of the IR become the container's coded `tensors`, every other tensor a
`graph.values` entry, both in the IR's order; node operands are indices into
`tensors ++ values`. A constant's levels are its stored integers (the lossless path) or, for a
compressed weight or a scaled int32 bias (`Tensor.encoding`), the encoding's levels plus the
rule that rebuilds the values (tensor_info `encoding`, section 4.2). What the IR keeps that the device does not
need (the source order of the tensors, shape signatures, the model description, names) goes
under `extensions["ir"]` / the optional `name`, so that `unpack` returns an equal graph; a
compact build (`keep_names=False`) keeps only what the device and the order of operands need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from host.container.layout import VERSION_MAJOR, Codec, LevelDtype
from host.container.metadata import (Compressor, Graph as MetaGraph, LevelEncoding, Metadata, ModelInfo, Node,
                                     Quantization, Target, TensorInfo)
from host.container.writer import TensorPayload, build_container
from host.errors import HostError, ModelError
from host.graph import (NO_TENSOR, CodebookLevels, DependentLevels, DType, Graph, Problem, ScaledLevels,
                        TensorEncoding, UniformLevels, UnsupportedModelError, find_problems, scaled_level_range)
from host.model_format.options import node_options

IR_EXTENSION = "ir"
CODECS = ("cabac", "raw")
_LEVEL_DTYPES = {DType.INT8: LevelDtype.INT8, DType.INT16: LevelDtype.INT16, DType.INT32: LevelDtype.INT32}
_CABAC_MAX_ABS = 32767  # host.coder.MAX_ABS; kept here so `raw` packing needs no coder


@dataclass(frozen=True)
class Operands:
    """The IR tensor order split into coded tensors and values: `order[k]` is the IR index of
    operand k (k < len(coded): a coded tensor, else a value)."""

    coded: tuple[int, ...]
    values: tuple[int, ...]

    @property
    def order(self) -> tuple[int, ...]:
        return self.coded + self.values

    def operand_of(self) -> dict[int, int]:
        return {ir: k for k, ir in enumerate(self.order)}


def split_operands(graph: Graph) -> Operands:
    """Constants (in IR order) first, then every other tensor (in IR order)."""
    coded = tuple(i for i, t in enumerate(graph.tensors) if t.data is not None)
    values = tuple(i for i, t in enumerate(graph.tensors) if t.data is None)
    return Operands(coded, values)


def packing_problems(graph: Graph) -> list[Problem]:
    """Everything that keeps `graph` from being packed losslessly: validation problems of the
    IR plus the container's limits (integer tensors only, quantized activations, no
    variables, no empty dimension)."""
    problems = list(find_problems(graph))
    for index, t in enumerate(graph.tensors):
        where = f"tensor {index} {t.name!r}"
        if t.dtype not in _LEVEL_DTYPES:
            problems.append(Problem(None, where, f"element type {t.dtype.value}: only int8, int16 and int32 tensors "
                                                 "can be packed (lossless packing takes int8 models)"))
        if t.is_variable:
            problems.append(Problem(None, where, "variable (stateful) tensors cannot be packed"))
        if any(d < 1 for d in t.shape):
            problems.append(Problem(None, where, f"shape {t.shape} has an empty dimension"))
        if t.data is None and t.quantization is None and t.dtype is DType.INT8:
            problems.append(Problem(None, where, "int8 activation without quantization"))
    return problems


def derived_bias_tensors(graph: Graph) -> set[int]:
    """IR indices of biases whose quantization is exactly what TFLite derives from their op:
    scale[k] = float32(input_scale * weight_scale[k]), zero points 0, axis 0. Their metadata
    quantization is written as null (the device does not use it; unpack derives it again)."""
    found: set[int] = set()
    for op in graph.ops:
        if op.kind.value not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or len(op.inputs) < 3:
            continue
        if min(op.inputs[:3]) < 0:
            continue
        x, w, b = (graph.tensors[i] for i in op.inputs[:3])
        if x.quantization is None or w.quantization is None or b.quantization is None:
            continue
        expected = bias_scale(x.quantization.scale[0], w.quantization.scale)
        q = b.quantization
        if (q.axis == 0 and np.array_equal(q.scale, expected) and not np.any(q.zero_point)
                and q.scale.size in (1, len(b.shape) and b.shape[0])):
            found.add(op.inputs[2])
    return found


def bias_scale(input_scale, weight_scales) -> np.ndarray:
    """float32(input_scale * weight_scale[k]) for every k, as the TFLite converter computes it."""
    return (np.float32(input_scale) * np.asarray(weight_scales, dtype=np.float32)).astype(np.float32)


def shared_quantization(q) -> Quantization | None:
    """The metadata form of IR quantization `q` (None stays None). Per-channel parameters whose
    scales are all the same float32 value and whose zero points are all the same are written
    once, per tensor (axis 0): the int8 arithmetic is the same for every channel either way
    (docs/kernels.md), and the compressor's one-step options (candidates._compensation_grid)
    save a scale byte per channel with it."""
    if q is None:
        return None
    scale = np.asarray(q.scale, dtype=np.float32).reshape(-1)
    zero = np.asarray(q.zero_point, dtype=np.int64).reshape(-1)
    if scale.size > 1 and np.all(scale == scale[0]) and (zero.size <= 1 or np.all(zero == zero[0])):
        return Quantization(scale=(float(scale[0]),), zero_point=tuple(int(z) for z in zero[:1]), axis=0)
    return Quantization(scale=tuple(float(s) for s in scale), zero_point=tuple(int(z) for z in zero),
                        axis=int(q.axis))


def _quantization(tensor) -> Quantization | None:
    return shared_quantization(tensor.quantization)


def level_encoding(encoding: TensorEncoding) -> LevelEncoding:
    """The metadata form of an encoding (the rule and its parameters; not the levels)."""
    if isinstance(encoding, ScaledLevels):
        return LevelEncoding("scaled", 32 - int(encoding.shift), shift=int(encoding.shift))
    if isinstance(encoding, UniformLevels):
        return LevelEncoding("uniform", int(encoding.bits), step=int(encoding.step))
    if isinstance(encoding, DependentLevels):
        return LevelEncoding("dependent", int(encoding.bits), step=int(encoding.step))
    if isinstance(encoding, CodebookLevels):
        book = np.asarray(encoding.codebook).astype(np.int8)
        return LevelEncoding("codebook", int(encoding.bits), codebook=book.tobytes(),
                             zero_index=int(encoding.zero_index))
    raise ModelError(f"unknown weight encoding {type(encoding).__name__}")  # pragma: no cover


def stored_levels(tensor) -> np.ndarray:
    """What the payload of a constant holds: its encoding's levels, else its values.
    Raises ModelError for encoded levels that do not fit int8 (the directory's level type), or
    for scaled int32 levels whose values would leave int32."""
    if tensor.encoding is None:
        return np.asarray(tensor.data)
    levels = np.asarray(tensor.encoding.levels).astype(np.int64)
    if isinstance(tensor.encoding, ScaledLevels):
        low, high = scaled_level_range(int(tensor.encoding.shift))
        if levels.size and (levels.min() < low or levels.max() > high):
            raise ModelError(f"tensor {tensor.name!r}: scaled levels {int(levels.min())}..{int(levels.max())} "
                             f"leave {low}..{high} (int32 at shift {tensor.encoding.shift})")
        return levels
    if levels.size and (levels.min() < -128 or levels.max() > 127):
        raise ModelError(f"tensor {tensor.name!r}: encoded levels {int(levels.min())}..{int(levels.max())} "
                         "do not fit int8")
    return levels


def _info(tensor, name: str, *, drop_quantization: bool = False) -> TensorInfo:
    return TensorInfo(name=name, shape=tuple(int(d) for d in tensor.shape), dtype=_LEVEL_DTYPES[tensor.dtype],
                      quantization=None if drop_quantization else _quantization(tensor),
                      encoding=None if tensor.encoding is None else level_encoding(tensor.encoding))


def encode_tensor(data: np.ndarray, level_dtype: LevelDtype, codec: str, coder: str = "cabac") -> TensorPayload:
    """The payload of one constant: `raw`, or with `cabac` the coded levels when the coder can
    take them (|level| <= 32767) and they are smaller than `raw` (else `raw`: still lossless).
    `coder` is the level syntax (host.coder.SYNTAXES: cabac, fast, auto).
    Raises CodecError from the coder."""
    levels = np.asarray(data).astype(np.int64)
    raw = TensorPayload.raw(levels.reshape(-1), level_dtype)
    if codec == "raw" or levels.size == 0 or int(np.abs(levels).max()) > _CABAC_MAX_ABS:
        return raw
    from host.coder import encode_levels

    payload = encode_levels(levels.astype(np.int32), syntax=coder)
    if len(payload) > len(raw.payload):
        return raw
    return TensorPayload(payload, int(levels.size), Codec.CABAC, level_dtype)


def build_metadata(graph: Graph, *, name: str, version: int, target: Target, compressor: Compressor,
                   keep_names: bool = True) -> Metadata:
    """The metadata of `graph` (no payloads). Raises ModelError / UnsupportedModelError."""
    problems = packing_problems(graph)
    if problems:
        raise UnsupportedModelError(problems)
    operands = split_operands(graph)
    operand_of = operands.operand_of()

    def label(ir_index: int) -> str:
        return graph.tensors[ir_index].name if keep_names else ""

    derived = derived_bias_tensors(graph)
    tensors = tuple(_info(graph.tensors[i], label(i), drop_quantization=i in derived) for i in operands.coded)
    values = tuple(_info(graph.tensors[i], label(i)) for i in operands.values)
    nodes = []
    for op in graph.ops:
        nodes.append(Node(op=op.kind.value,
                          inputs=tuple(-1 if i == NO_TENSOR else operand_of[i] for i in op.inputs),
                          outputs=tuple(operand_of[i] for i in op.outputs),
                          options=node_options(graph, op)))
    meta_graph = MetaGraph(inputs=tuple(operand_of[i] for i in graph.inputs),
                           outputs=tuple(operand_of[i] for i in graph.outputs), nodes=tuple(nodes), values=values)
    ir: dict[str, Any] = {}
    if derived:
        ir["derived_bias"] = sorted(operand_of[i] for i in derived)
    if keep_names and list(operands.order) != list(range(len(operands.order))):
        ir["order"] = list(operands.order)
    if keep_names:
        ir["description"] = graph.description
        ir["shape_signatures"] = [None if graph.tensors[i].shape_signature is None
                                  else [int(d) for d in graph.tensors[i].shape_signature] for i in operands.order]
    extensions = {IR_EXTENSION: ir} if ir else None
    return Metadata(model=ModelInfo(name, version), target=target, compressor=compressor, graph=meta_graph,
                    tensors=tensors, extensions=extensions)


def pack(graph: Graph, *, name: str, version: int, target: str = "generic",
         compressor_settings: Mapping[str, Any] | None = None, codec: str = "cabac",
         compressor_version: str = "0.1.0", keep_names: bool = True, progress=None, coder: str = "cabac",
         container_format: int = VERSION_MAJOR) -> bytes:
    """The unsigned container of `graph` (sign it with host.container.signing.sign_container).

    Every constant tensor's values are stored exactly (see encode_tensor); the metadata holds
    the graph and every parameter the device needs (host.model_format.options). `target`
    names the architecture; `target.min_flash` is the container length and `target.min_ram`
    an arena that runs it on every runtime dcagent builds: the most, over the host and the Cortex-M
    boards with reference or DSP kernels (host.runtime.Device), of the least arena each needs in
    one of its decode modes (AUTO: at load, per layer or streamed; 0 when host._runtime is not
    built). A weight with an `encoding` is stored as its levels plus the rule that rebuilds it.
    `keep_names=False` is the compact device build: no tensor names, shape signatures or
    description (unpack names tensors `t<index>`).
    `progress(done, total)` is called after each coded tensor. `coder` picks the level syntax
    of the coded tensors (cabac, fast or auto; docs/coder.md section 10). `container_format` 2 writes
    the text metadata keys that firmware of format 2 reads (docs/bitstream.md section 4.3).
    Raises UnsupportedModelError (a ModelError) listing every problem of the graph,
    ModelError for a bad argument, CodecError from the coder, BitstreamError when the result
    would break a container limit.
    """
    if codec not in CODECS:
        raise ModelError(f"codec must be one of {', '.join(CODECS)}, not {codec!r}")
    if not name:
        raise ModelError("the model name must not be empty")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ModelError(f"the model version must be an unsigned integer, not {version!r}")
    settings = dict(compressor_settings or {})
    settings.setdefault("codec", codec)
    compressor = Compressor("dcagent", compressor_version, settings)
    metadata = build_metadata(graph, name=name, version=version, target=Target(target, 0, 0),
                              compressor=compressor, keep_names=keep_names)
    operands = split_operands(graph)
    payloads = []
    for done, ir_index in enumerate(operands.coded, start=1):
        tensor = graph.tensors[ir_index]
        payloads.append(encode_tensor(stored_levels(tensor), _LEVEL_DTYPES[tensor.dtype], codec, coder))
        if progress is not None:
            progress(done, len(operands.coded))
    return _with_target(metadata, payloads, target, container_format)


def _with_target(metadata: Metadata, payloads: list[TensorPayload], arch: str, container_format: int) -> bytes:
    """Build the container with `target.min_ram` (arena) and `target.min_flash` (its own length)
    filled in; the length depends on the field widths, so iterate until it is stable."""
    import dataclasses

    data = build_container(metadata, payloads, version_major=container_format)
    min_ram = _arena_bytes(data)
    length = 0
    for _ in range(4):
        meta = dataclasses.replace(metadata, target=Target(arch, min_ram=min_ram, min_flash=length))
        data = build_container(meta, payloads, version_major=container_format)
        if len(data) == length:
            return data
        length = len(data)
    return data  # pragma: no cover - the width of min_flash settles after two rounds


def _arena_bytes(data: bytes) -> int:
    """The most of the least arenas (AUTO) of the host and of each kind of Cortex-M board; 0 when
    the runtime cannot size the model."""
    try:
        from host.runtime import DecodeMode, Device, arena_size
    except ImportError:  # pragma: no cover - the extension is part of every build
        return 0
    try:
        return max(arena_size(data, DecodeMode.AUTO, device=device) for device in Device)
    except HostError:
        return 0
