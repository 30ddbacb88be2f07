"""The .dcb metadata as typed dataclasses, to deterministic CBOR and back, strictly validated.

Schema and value rules: docs/bitstream.md section 4. Every map is closed; free content goes
under the top-level `extensions` key. Every violation raises
`BitstreamError(status="DC_ERR_METADATA")` whose message names the field path, what was
expected and what was found. The same rules are enforced in C (`dc_container_metadata.c`).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any, Union

from host.container import cbor, keys
from host.container.layout import MAX_LEVELS_PER_TENSOR, MAX_RANK, VERSION_MAJOR, LevelDtype
from host.errors import BitstreamError
from host.graph.encoding import SCALED_MAX_SHIFT  # the rule "scaled" bound, shared with the graph IR

Scalar = Union[int, float, str, bool]
OptionValue = Union[Scalar, bytes, tuple[Scalar, ...]]
EXTENSIONS_KEY = "extensions"
_UINT_MAX = (1 << 64) - 1
_INT_MIN = -(1 << 63)


def _fail(path: str, expected: str, found: Any) -> BitstreamError:
    shown = repr(found)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return BitstreamError(f"metadata field {path}: expected {expected}, found {shown}", status="DC_ERR_METADATA")


def _fields(value: Any, path: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "a map", value)
    for key in value:
        if key not in keys and key not in optional:
            raise BitstreamError(
                f"metadata field {path}.{key}: unknown field (allowed: {', '.join(keys + optional)};"
                f" put free content under the top-level '{EXTENSIONS_KEY}' key)",
                status="DC_ERR_METADATA",
            )
    for key in keys:
        if key not in value:
            raise BitstreamError(f"metadata field {path}.{key}: required field is missing", status="DC_ERR_METADATA")
    return value


def _text(value: Any, path: str, *, nonempty: bool = False) -> str:
    if not isinstance(value, str) or (nonempty and not value):
        raise _fail(path, "non-empty text" if nonempty else "text", value)
    return value


def _uint(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT_MAX:
        raise _fail(path, "an unsigned integer", value)
    return value


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not _INT_MIN <= value <= _UINT_MAX:
        raise _fail(path, "an integer", value)
    return value


def _float(value: Any, path: str) -> float:
    if not isinstance(value, float) or not math.isfinite(value):
        raise _fail(path, "a finite float", value)
    return value


def _array(value: Any, path: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise _fail(path, "an array", value)
    return list(value)


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return _int(value, path)
    if isinstance(value, float):
        return _float(value, path)
    raise _fail(path, "an int, float, text or bool", value)


def _options(value: Any, path: str) -> dict[str, OptionValue]:
    if not isinstance(value, dict):
        raise _fail(path, "a map of options", value)
    result: dict[str, OptionValue] = {}
    for key, item in value.items():
        _text(key, f"{path} key")
        if isinstance(item, (bytes, bytearray)):
            result[key] = bytes(item)
        elif isinstance(item, (list, tuple)):
            result[key] = tuple(_scalar(x, f"{path}.{key}[{i}]") for i, x in enumerate(item))
        else:
            result[key] = _scalar(item, f"{path}.{key}")
    return result


def _operands(value: Any, path: str, *, optional: bool) -> tuple[int, ...]:
    """Operand indices: uints, or also -1 (an absent optional operand) when `optional`."""
    result = []
    for i, x in enumerate(_array(value, path)):
        if isinstance(x, bool) or not isinstance(x, int) or x < (-1 if optional else 0) or x > _UINT_MAX:
            raise _fail(f"{path}[{i}]", "an operand index >= -1" if optional else "an operand index >= 0", x)
        result.append(x)
    return tuple(result)


def _plain_options(options: dict[str, OptionValue]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def float32_values(values: Any) -> tuple[float, ...]:
    """`values` rounded to IEEE binary32 (what the metadata stores), as Python floats."""
    floats = tuple(float(v) for v in values)
    return struct.unpack(f"<{len(floats)}f", struct.pack(f"<{len(floats)}f", *floats)) if floats else ()


def pack_float32(values: Any) -> bytes:
    """The packed little-endian binary32 form of `values` (a `scale` or a softmax table)."""
    floats = tuple(float(v) for v in values)
    return struct.pack(f"<{len(floats)}f", *floats)


def unpack_float32(data: bytes, path: str, *, positive: bool) -> tuple[float, ...]:
    """Packed little-endian binary32 values: finite (and > 0 with `positive`).
    Raises BitstreamError (DC_ERR_METADATA)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) == 0 or len(data) % 4:
        raise _fail(path, "a byte string of 4 * n >= 4 bytes (float32, little-endian)", data)
    values = struct.unpack(f"<{len(data) // 4}f", bytes(data))
    for i, v in enumerate(values):
        if not math.isfinite(v) or (positive and not v > 0):
            raise _fail(f"{path}[{i}]", "a finite float32 > 0" if positive else "a finite float32", v)
    return values


# Compact scales (docs/bitstream.md section 4): one shared exponent `x` and one byte per scale,
# scale_k = m_k * 2**x with 1 <= m_k <= 255; every such value is a normal float32 when x lies in
# SCALE_EXP_RANGE, so host and device rebuild the same float32 bits.
SCALE_MANTISSA_MAX = 255
SCALE_EXP_RANGE = (-126, 120)


def compact_scales(values: Any) -> tuple[int, bytes] | None:
    """(x, mantissa bytes) when every float32 in `values` is m * 2**x (m in 1..255) for one x
    in SCALE_EXP_RANGE, else None."""
    pairs = []
    for v in float32_values(values):
        if not v > 0 or not math.isfinite(v):
            return None
        fraction, exponent = math.frexp(v)
        mantissa, exponent = int(fraction * (1 << 24)), exponent - 24
        while mantissa % 2 == 0:
            mantissa //= 2
            exponent += 1
        pairs.append((mantissa, exponent))
    if not pairs:
        return None
    x = max(min(e for _, e in pairs), SCALE_EXP_RANGE[0])
    mantissas = []
    for m, e in pairs:
        if e < x:
            return None
        m <<= e - x
        if m > SCALE_MANTISSA_MAX:
            return None
        mantissas.append(m)
    if x > SCALE_EXP_RANGE[1]:
        return None
    return x, bytes(mantissas)


def expand_scales(x: int, mantissas: bytes) -> tuple[float, ...]:
    """The float32 scales m_k * 2**x (exact)."""
    return float32_values(math.ldexp(m, x) for m in mantissas)


@dataclass(frozen=True)
class Quantization:
    """Per-tensor (one scale) or per-channel (one scale per index of `axis`) parameters:
    real value = scale * (level - zero_point). Scales are float32 (rounded on construction);
    the metadata stores them packed: float32 bytes, or one shared exponent and a byte per scale
    when that is exact and shorter (docs/bitstream.md section 4)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", float32_values(self.scale))
        object.__setattr__(self, "zero_point", tuple(int(z) for z in self.zero_point))

    def to_plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = {"s": pack_float32(self.scale)}
        compact = compact_scales(self.scale)
        if compact is not None:
            shorter = {"s": compact[1], "x": compact[0]}
            if len(cbor.encode(shorter)) < len(cbor.encode(plain)):
                plain = shorter
        if self.axis:
            plain["a"] = self.axis
        zero_points = list(self.zero_point)
        if len(set(zero_points)) > 1:
            plain["z"] = zero_points
        elif zero_points and zero_points[0] != 0:
            plain["z"] = zero_points[0]
        return plain


LEVEL_RULES = ("uniform", "codebook", "dependent", "scaled")
# The rule codes of the metadata (`r`), as the C runtime's DC_LEVEL_RULE_*.
RULE_CODES = {"uniform": 1, "codebook": 2, "dependent": 3, "scaled": 4}
_RULE_BITS = {"uniform": (2, 8), "codebook": (1, 8), "dependent": (2, 7)}
_RULE_KEYS = {"uniform": ("b", "k", "r"), "dependent": ("b", "k", "r"), "codebook": ("b", "c", "i", "r"),
              "scaled": ("k", "r")}


@dataclass(frozen=True)
class LevelEncoding:
    """How a coded tensor's levels rebuild its values (docs/bitstream.md section 4.2).

    int8 tensors: `rule` "uniform": int8 = level * step; "dependent": the 8-state trellis rule
    of docs/compression.md with `step`; "codebook": int8 = codebook[level + zero_index].
    `bits` bounds the levels (|level| <= 2**(bits-1) - 1 for uniform and dependent).
    int32 tensors: "scaled": int32 = level * 2**shift, shift 1..SCALED_MAX_SHIFT, the levels
    in -2**(31-shift) .. 2**(31-shift) - 1 (`bits` = 32 - shift, not stored)."""

    rule: str
    bits: int
    step: int = 0
    codebook: bytes = b""
    zero_index: int = 0
    shift: int = 0

    @property
    def max_level(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @property
    def dtype(self) -> LevelDtype:
        """The type of the values the rule rebuilds (int32 for "scaled", else int8)."""
        return LevelDtype.INT32 if self.rule == "scaled" else LevelDtype.INT8

    def to_plain(self) -> dict[str, Any]:
        if self.rule == "codebook":
            return {"b": self.bits, "c": bytes(self.codebook), "i": self.zero_index, "r": RULE_CODES[self.rule]}
        if self.rule == "scaled":
            return {"k": self.shift, "r": RULE_CODES[self.rule]}
        return {"b": self.bits, "k": self.step, "r": RULE_CODES[self.rule]}

    @classmethod
    def from_plain(cls, value: Any, path: str) -> "LevelEncoding":
        """Validate a decoded `encoding` map (`e`). Raises BitstreamError (DC_ERR_METADATA)."""
        if not isinstance(value, dict):
            raise _fail(path, "a map", value)
        code = value.get("r")
        rule = next((name for name, c in RULE_CODES.items() if c == code and type(code) is int), None)
        if rule is None:
            raise _fail(f"{path}.r", "a rule code: 1 uniform, 2 codebook, 3 dependent, 4 scaled", code)
        f = _fields(value, path, _RULE_KEYS[rule])
        if rule == "scaled":
            shift = _uint(f["k"], f"{path}.k")
            if not 1 <= shift <= SCALED_MAX_SHIFT:
                raise _fail(f"{path}.k", f"a shift in 1..{SCALED_MAX_SHIFT} for rule scaled", shift)
            return cls(rule, 32 - shift, shift=shift)
        bits = _uint(f["b"], f"{path}.b")
        low, high = _RULE_BITS[rule]
        if not low <= bits <= high:
            raise _fail(f"{path}.b", f"{low}..{high} bits for rule {rule}", bits)
        if rule == "codebook":
            book = f["c"]
            if not isinstance(book, (bytes, bytearray)) or not 1 <= len(book) <= min(256, 1 << bits):
                raise _fail(f"{path}.c", f"a codebook byte string of 1..{min(256, 1 << bits)} int8 entries", book)
            zero_index = _uint(f["i"], f"{path}.i")
            if zero_index >= len(book) or book[zero_index] != 0:
                raise _fail(f"{path}.i", "the index of a 0 entry of the codebook", zero_index)
            return cls(rule, bits, codebook=bytes(book), zero_index=zero_index)
        step = _uint(f["k"], f"{path}.k")
        reach = (1 << (bits - 1)) - 1
        reach *= 2 * step if rule == "dependent" else step
        if not 1 <= reach <= 127:
            raise _fail(f"{path}.k", f"a step whose largest value ({reach}) lies in 1..127", step)
        return cls(rule, bits, step=step)


_DTYPE_CODES = {LevelDtype.INT16: 1, LevelDtype.INT32: 2}


def _quantization(value: Any, path: str, shape: tuple[int, ...], dtype: LevelDtype) -> Quantization:
    q = _fields(value, path, ("s",), ("a", "x", "z"))
    axis = _uint(q["a"], f"{path}.a") if "a" in q else 0
    if "x" in q:
        x = _int(q["x"], f"{path}.x")
        low, high = SCALE_EXP_RANGE
        if not low <= x <= high:
            raise _fail(f"{path}.x", f"a scale exponent in [{low}, {high}]", x)
        mantissas = q["s"]
        if not isinstance(mantissas, (bytes, bytearray)) or len(mantissas) == 0 or 0 in mantissas:
            raise _fail(f"{path}.s", "a byte string of n >= 1 mantissas, each 1..255 (with x)", mantissas)
        scale = expand_scales(x, bytes(mantissas))
    else:
        scale = unpack_float32(q["s"], f"{path}.s", positive=True)
    n = len(scale)
    raw_zero = q.get("z", 0)
    if isinstance(raw_zero, (list, tuple)):
        zero_point = tuple(_int(z, f"{path}.z[{i}]") for i, z in enumerate(raw_zero))
    else:
        zero_point = (_int(raw_zero, f"{path}.z"),) * n
    low, high = dtype.bounds
    for i, z in enumerate(zero_point):
        if not low <= z <= high:
            raise _fail(f"{path}.z[{i}]", f"a zero point in [{low}, {high}] ({dtype.type_name})", z)
    if len(zero_point) != n:
        raise _fail(path, "scales and zero points of the same count >= 1", (n, len(zero_point)))
    if n == 1:
        if axis >= max(len(shape), 1):
            raise _fail(f"{path}.a", f"an axis < {max(len(shape), 1)}", axis)
    elif axis >= len(shape) or shape[axis] != n:
        raise _fail(path, f"{n} channels along axis {axis} of shape {list(shape)}", axis)
    return Quantization(scale, zero_point, axis)


@dataclass(frozen=True)
class TensorInfo:
    """An integer tensor: a coded weight tensor or a graph value.

    `name` is optional (empty: not stored); `encoding` (coded int8 tensors, and int32 tensors
    with rule "scaled") says how the decoded levels rebuild the values; without it the levels
    are the values."""

    name: str
    shape: tuple[int, ...]
    dtype: LevelDtype
    quantization: Quantization | None
    encoding: LevelEncoding | None = None

    @property
    def level_count(self) -> int:
        """The number of elements (product of `shape`; 1 for a scalar)."""
        return math.prod(self.shape)

    def to_plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = {"s": list(self.shape)}
        if self.dtype in _DTYPE_CODES:
            plain["t"] = _DTYPE_CODES[self.dtype]
        if self.quantization is not None:
            plain["q"] = self.quantization.to_plain()
        if self.name:
            plain["n"] = self.name
        if self.encoding is not None:
            plain["e"] = self.encoding.to_plain()
        return plain

    @classmethod
    def from_plain(cls, value: Any, path: str) -> "TensorInfo":
        """Validate a decoded tensor_info map. Raises BitstreamError (DC_ERR_METADATA)."""
        f = _fields(value, path, ("s",), ("e", "n", "q", "t"))
        dtype = LevelDtype.INT8
        if "t" in f:
            code = f["t"]
            dtype = next((d for d, c in _DTYPE_CODES.items() if c == code and type(code) is int), None)
            if dtype is None:
                raise _fail(f"{path}.t", "a dtype code: 1 int16, 2 int32 (absent: int8)", code)
        name = _text(f["n"], f"{path}.n", nonempty=True) if "n" in f else ""
        encoding = None
        if "e" in f:
            if dtype is LevelDtype.INT16:
                raise _fail(f"{path}.e", "no encoding: only int8 and int32 tensors have one", dtype.type_name)
            encoding = LevelEncoding.from_plain(f["e"], f"{path}.e")
            if encoding.dtype is not dtype:
                raise _fail(f"{path}.e.r", f"a rule for {dtype.type_name} values (rule scaled: int32 only; "
                            "uniform, codebook, dependent: int8 only)", RULE_CODES[encoding.rule])
        shape = tuple(_uint(d, f"{path}.s[{i}]") for i, d in enumerate(_array(f["s"], f"{path}.s")))
        if len(shape) > MAX_RANK:
            raise _fail(f"{path}.s", f"at most {MAX_RANK} dimensions", list(shape))
        count = 1
        for i, dim in enumerate(shape):
            if dim < 1:
                raise _fail(f"{path}.s[{i}]", "a dimension >= 1", dim)
            count *= dim
            if count > MAX_LEVELS_PER_TENSOR:
                raise _fail(f"{path}.s", f"at most {MAX_LEVELS_PER_TENSOR} elements", list(shape))
        quantization = _quantization(f["q"], f"{path}.q", shape, dtype) if "q" in f else None
        return cls(name=name, shape=shape, dtype=dtype, quantization=quantization, encoding=encoding)


# Op codes of the metadata (`k`), the C runtime's dc_op_kind_t order (docs/bitstream.md 4.1).
OP_CODES = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL",
            "RESHAPE", "SOFTMAX", "LOGISTIC", "RELU", "RELU6", "HARD_SWISH", "PAD", "CONCATENATION", "MEAN",
            "QUANTIZE")
UNKNOWN_OP_PREFIX = "op#"


@dataclass(frozen=True)
class Node:
    """One operator of the graph: `op` reads the operands `inputs` and writes `outputs`.

    Operand index k names `tensors[k]` for k < len(tensors), else `graph.values[k - len(tensors)]`;
    -1 in `inputs` is an absent optional operand (docs/bitstream.md section 4). `op` is the op's
    name (OP_CODES; the metadata stores its code); a code this version does not know reads as
    "op#<code>"."""

    op: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, OptionValue] = field(default_factory=dict)

    def to_plain(self) -> dict[str, Any]:
        if self.op in OP_CODES:
            code = OP_CODES.index(self.op)
        elif self.op.startswith(UNKNOWN_OP_PREFIX) and self.op[len(UNKNOWN_OP_PREFIX):].isdigit():
            code = int(self.op[len(UNKNOWN_OP_PREFIX):])
        else:
            raise _fail("node op", f"one of {', '.join(OP_CODES)} (the ops a device runs)", self.op)
        return {"i": list(self.inputs), "k": code, "o": list(self.outputs), "p": _plain_options(self.options)}


@dataclass(frozen=True)
class Graph:
    """The operator graph: input/output operand indices, nodes in execution order, activation values."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    nodes: tuple[Node, ...] = ()
    values: tuple[TensorInfo, ...] = ()

    def to_plain(self) -> dict[str, Any]:
        return {"inputs": list(self.inputs), "nodes": [n.to_plain() for n in self.nodes],
                "outputs": list(self.outputs), "values": [v.to_plain() for v in self.values]}


@dataclass(frozen=True)
class ModelInfo:
    """The model's name and its monotonically increasing version (anti-rollback)."""

    name: str
    version: int


@dataclass(frozen=True)
class Target:
    """What the device must offer: architecture and minimum RAM and flash in bytes."""

    arch: str
    min_ram: int
    min_flash: int


@dataclass(frozen=True)
class Compressor:
    """The tool that wrote the container, and its settings (a flat map of options)."""

    name: str
    version: str
    settings: dict[str, OptionValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Metadata:
    """Everything the container says about the model besides the payloads."""

    model: ModelInfo
    target: Target
    compressor: Compressor
    graph: Graph
    tensors: tuple[TensorInfo, ...]
    extensions: dict[str, Any] | None = None

    def to_plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = {
            "compressor": {"name": self.compressor.name, "settings": _plain_options(self.compressor.settings),
                           "version": self.compressor.version},
            "graph": self.graph.to_plain(),
            "model": {"name": self.model.name, "version": self.model.version},
            "target": {"arch": self.target.arch, "min_flash": self.target.min_flash, "min_ram": self.target.min_ram},
            "tensors": [t.to_plain() for t in self.tensors],
        }
        if self.extensions is not None:
            plain[EXTENSIONS_KEY] = self.extensions
        return plain

    def to_cbor(self, version_major: int = VERSION_MAJOR) -> bytes:
        """The deterministic CBOR encoding in format `version_major` (3: integer keys, section
        4.3; 2: text keys), after the same validation a reader applies.

        Raises BitstreamError(status="DC_ERR_METADATA") naming the first invalid field.
        """
        plain = self.to_plain()
        self.from_plain(plain)
        try:
            data = cbor.encode(keys.to_integers(plain) if version_major >= 3 else plain)
        except ValueError as exc:
            raise BitstreamError(f"metadata cannot be encoded: {exc}", status="DC_ERR_METADATA") from exc
        cbor.decode(data)  # enforces the depth limit on `extensions`
        return data

    @classmethod
    def from_cbor(cls, data: bytes, *, base_offset: int = 0, version_major: int = VERSION_MAJOR) -> "Metadata":
        """Decode and validate metadata bytes of format `version_major` (3 or 2).
        Raises BitstreamError (DC_ERR_METADATA)."""
        plain = cbor.decode(data, base_offset=base_offset)
        return cls.from_plain(keys.to_text(plain) if version_major >= 3 else plain)

    @classmethod
    def from_plain(cls, value: Any) -> "Metadata":
        """Validate decoded metadata (plain dicts/lists). Raises BitstreamError (DC_ERR_METADATA)."""
        top = _fields(value, "metadata", ("compressor", "graph", "model", "target", "tensors"), (EXTENSIONS_KEY,))
        c = _fields(top["compressor"], "metadata.compressor", ("name", "settings", "version"))
        compressor = Compressor(
            name=_text(c["name"], "metadata.compressor.name"),
            version=_text(c["version"], "metadata.compressor.version"),
            settings=_options(c["settings"], "metadata.compressor.settings"),
        )
        g = _fields(top["graph"], "metadata.graph", ("inputs", "nodes", "outputs", "values"))
        nodes = []
        for i, raw in enumerate(_array(g["nodes"], "metadata.graph.nodes")):
            path = f"metadata.graph.nodes[{i}]"
            n = _fields(raw, path, ("i", "k", "o", "p"))
            code = _uint(n["k"], f"{path}.k")
            nodes.append(Node(op=OP_CODES[code] if code < len(OP_CODES) else f"{UNKNOWN_OP_PREFIX}{code}",
                              inputs=_operands(n["i"], f"{path}.i", optional=True),
                              outputs=_operands(n["o"], f"{path}.o", optional=False),
                              options=_options(n["p"], f"{path}.p")))
        values = tuple(TensorInfo.from_plain(v, f"metadata.graph.values[{i}]")
                       for i, v in enumerate(_array(g["values"], "metadata.graph.values")))
        for i, v in enumerate(values):
            if v.encoding is not None:
                raise _fail(f"metadata.graph.values[{i}].e", "no encoding: a value has no payload",
                            v.encoding.rule)
        graph = Graph(inputs=_operands(g["inputs"], "metadata.graph.inputs", optional=False),
                      outputs=_operands(g["outputs"], "metadata.graph.outputs", optional=False), nodes=tuple(nodes),
                      values=values)
        m = _fields(top["model"], "metadata.model", ("name", "version"))
        model = ModelInfo(name=_text(m["name"], "metadata.model.name", nonempty=True),
                          version=_uint(m["version"], "metadata.model.version"))
        t = _fields(top["target"], "metadata.target", ("arch", "min_flash", "min_ram"))
        target = Target(arch=_text(t["arch"], "metadata.target.arch"),
                        min_ram=_uint(t["min_ram"], "metadata.target.min_ram"),
                        min_flash=_uint(t["min_flash"], "metadata.target.min_flash"))
        tensors = tuple(TensorInfo.from_plain(v, f"metadata.tensors[{i}]")
                        for i, v in enumerate(_array(top["tensors"], "metadata.tensors")))
        extensions = top.get(EXTENSIONS_KEY)
        if EXTENSIONS_KEY in top and not isinstance(extensions, dict):
            raise _fail(f"metadata.{EXTENSIONS_KEY}", "a map", extensions)
        for key in extensions or {}:
            _text(key, f"metadata.{EXTENSIONS_KEY} key")  # free values, text keys in every format
        return cls(model=model, target=target, compressor=compressor, graph=graph, tensors=tensors,
                   extensions=extensions)
