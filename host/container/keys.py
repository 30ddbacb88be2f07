"""Format 3's integer keys (docs/bitstream.md section 4.3): the metadata's plain form, whose keys
are the text of the schema (section 4), to the integers format 3 writes, and back.

Every schema map writes a key as its position in the map's key list; node options are keyed by
option code, and their three enumerations are written as integers. The free maps
(`compressor.settings`, `extensions`) keep their text keys. `Metadata` validates the plain form
either way, so the rules of section 4 hold for both formats.
"""
from __future__ import annotations

from typing import Any, Callable

from host.errors import BitstreamError

METADATA = ("compressor", "extensions", "graph", "model", "target", "tensors")
COMPRESSOR = ("name", "settings", "version")
GRAPH = ("inputs", "nodes", "outputs", "values")
MODEL = ("name", "version")
TARGET = ("arch", "min_flash", "min_ram")
NODE = ("i", "k", "o", "p")
TENSOR_INFO = ("e", "n", "q", "s", "t")
QUANTIZATION = ("a", "s", "x", "z")
ENCODING = ("b", "c", "i", "k", "r")
OPTIONS = ("act_max", "act_min", "activation", "axes", "axis", "beta", "depth_multiplier", "dilation_h",
           "dilation_w", "filter_h", "filter_w", "keep_dims", "keep_num_dims", "lut", "new_shape", "padding",
           "paddings", "rounding", "stride_h", "stride_w")
ENUMS = {"padding": ("SAME", "VALID"), "activation": ("NONE", "RELU", "RELU_N1_TO_1", "RELU6"),
         "rounding": ("double", "single")}
# An option code this version does not know reads as "option#<code>" (unpack rejects it, as an
# unknown text option of format 2); an enumeration code it does not know stays an integer.
UNKNOWN_OPTION_PREFIX = "option#"

Convert = Callable[[Any, str], Any]


def _fail(path: str, what: str) -> BitstreamError:
    return BitstreamError(f"metadata field {path}: {what}", status="DC_ERR_METADATA")


def _same(value: Any, path: str) -> Any:
    return value


def _each(inner: Convert) -> Convert:
    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return value  # Metadata reports the type
        return [inner(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return convert


def _coded_to_text(value: Any, path: str, name_of: Callable[[Any, str], str],
                   convert: Callable[[str, Any, str], Any]) -> Any:
    """A map of format 3 (keys are codes) with text keys: `name_of(key, path)` names a key (raising
    for one that is not a code of the map), `convert(name, value, path)` converts its value."""
    if not isinstance(value, dict):
        return value  # Metadata reports the type
    out = {}
    for key, item in value.items():
        name = name_of(key, path)
        out[name] = convert(name, item, f"{path}.{name}")
    return out


def _closed(names: tuple[str, ...], members: dict[str, tuple[Convert, Convert]] | None = None) -> tuple[Convert, Convert]:
    """(to_integers, to_text) of a schema map with key list `names`; `members` converts values."""
    members = members or {}

    def to_integers(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if key not in names:
                raise _fail(f"{path}.{key}", f"unknown field (allowed: {', '.join(names)})")
            convert = members.get(key, (_same, _same))[0]
            out[names.index(key)] = convert(item, f"{path}.{key}")
        return out

    def name_of(key: Any, path: str) -> str:
        if type(key) is not int or key >= len(names):
            raise _fail(path, f"key {key!r} is not one of its codes 0..{len(names) - 1} "
                        f"({', '.join(names)}; format 3 writes keys as integers)")
        return names[key]

    def value_to_text(name: str, item: Any, path: str) -> Any:
        return members.get(name, (_same, _same))[1](item, path)

    def to_text(value: Any, path: str) -> Any:
        return _coded_to_text(value, path, name_of, value_to_text)

    return to_integers, to_text


def _options_to_integers(value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if isinstance(key, str) and key.startswith(UNKNOWN_OPTION_PREFIX) and key[len(UNKNOWN_OPTION_PREFIX):].isdigit():
            code = int(key[len(UNKNOWN_OPTION_PREFIX):])
        elif key in OPTIONS:
            code = OPTIONS.index(key)
        else:
            raise _fail(f"{path}.{key}", "an option format 3 has no code for (docs/bitstream.md section 4.3)")
        if key in ENUMS and isinstance(item, str):
            if item not in ENUMS[key]:
                raise _fail(f"{path}.{key}", f"expected one of {', '.join(ENUMS[key])}, found {item!r}")
            item = ENUMS[key].index(item)
        out[code] = item
    return out


def _option_name(key: Any, path: str) -> str:
    if type(key) is not int:
        raise _fail(path, f"key {key!r} is not an option code (format 3 writes keys as integers)")
    return OPTIONS[key] if key < len(OPTIONS) else f"{UNKNOWN_OPTION_PREFIX}{key}"


def _option_to_text(name: str, item: Any, path: str) -> Any:
    if name in ENUMS and type(item) is int and 0 <= item < len(ENUMS[name]):
        return ENUMS[name][item]
    if name in ENUMS and isinstance(item, str):
        return f"<text {item!r}: format 3 writes an integer>"  # mistyped: unpack rejects it, as the device
    return item


def _options_to_text(value: Any, path: str) -> Any:
    return _coded_to_text(value, path, _option_name, _option_to_text)


_OPTIONS = (_options_to_integers, _options_to_text)
_QUANTIZATION = _closed(QUANTIZATION)
_ENCODING = _closed(ENCODING)
_TENSOR_INFO = _closed(TENSOR_INFO, {"e": _ENCODING, "q": _QUANTIZATION})
_TENSOR_LIST = (_each(_TENSOR_INFO[0]), _each(_TENSOR_INFO[1]))
_NODE = _closed(NODE, {"p": _OPTIONS})
_GRAPH = _closed(GRAPH, {"nodes": (_each(_NODE[0]), _each(_NODE[1])), "values": _TENSOR_LIST})
_METADATA = _closed(METADATA, {"compressor": _closed(COMPRESSOR), "graph": _GRAPH, "model": _closed(MODEL),
                               "target": _closed(TARGET), "tensors": _TENSOR_LIST})


def to_integers(plain: dict) -> dict:
    """The format 3 form of metadata `plain` (text keys). Raises BitstreamError (DC_ERR_METADATA)
    for a key that has no code."""
    return _METADATA[0](plain, "metadata")


def to_text(wire: Any) -> Any:
    """The plain form (text keys) of decoded format 3 metadata. Raises BitstreamError
    (DC_ERR_METADATA) for a key that is not a code of its map."""
    return _METADATA[1](wire, "metadata")


def tensor_info_to_integers(plain: dict) -> dict:
    """One tensor_info map in format 3 (for counting its bytes)."""
    return _TENSOR_INFO[0](plain, "tensor_info")


__all__ = ["METADATA", "COMPRESSOR", "GRAPH", "MODEL", "TARGET", "NODE", "TENSOR_INFO", "QUANTIZATION", "ENCODING",
           "OPTIONS", "ENUMS", "UNKNOWN_OPTION_PREFIX", "to_integers", "to_text", "tensor_info_to_integers"]
