"""Metadata patches: the smallest list of set/delete operations turning one CBOR value into another.

Values are the plain forms `host.container.cbor.decode` returns (dict with text or uint keys, list,
int, float, text, bytes, bool, None). An operation is `[path, value]` (set the value at
`path`) or `[path]` (delete the map key at `path`); a path is a list of map keys (text, or uint in
format 3's metadata) and list indices (uint): the value being patched says which a step is. Lists
of the same length are patched element by element unless setting the whole list is smaller.
Equality is exact and typed (1, 1.0 and True differ), so the patched value encodes to the same
deterministic CBOR bytes as the target.
"""
from __future__ import annotations

import copy
from typing import Any

from host.container import cbor
from host.errors import BitstreamError

Path = list
Operation = list


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def diff(base: Any, target: Any) -> list[Operation]:
    """The operations that turn `base` into `target` (empty when they are equal)."""
    ops: list[Operation] = []
    _diff(base, target, [], ops)
    return ops


def _diff(a: Any, b: Any, path: Path, ops: list[Operation]) -> None:
    if _same(a, b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=cbor.encode):  # text and integer keys: their CBOR order
            if key not in b:
                ops.append([path + [key]])
            elif key not in a:
                ops.append([path + [key], b[key]])
            else:
                _diff(a[key], b[key], path + [key], ops)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        inner: list[Operation] = []
        for index, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, path + [index], inner)
        whole = [path, b]
        if len(cbor.encode(inner)) < len(cbor.encode([whole])):
            ops.extend(inner)
        else:
            ops.append(whole)
        return
    ops.append([path, b])


def _bad(message: str) -> BitstreamError:
    return BitstreamError(f"metadata patch: {message}", status="DC_ERR_METADATA")


def apply(base: Any, ops: Any) -> Any:
    """`base` with `ops` applied (base itself is not changed).

    Raises BitstreamError(status="DC_ERR_METADATA") for a malformed operation or a path that
    does not exist in the value being patched.
    """
    if not isinstance(ops, list):
        raise _bad("operations must be an array")
    value = copy.deepcopy(base)
    for number, op in enumerate(ops):
        if not isinstance(op, list) or len(op) not in (1, 2) or not isinstance(op[0], list):
            raise _bad(f"operation {number} is not [path] or [path, value]")
        path = op[0]
        if not path:
            if len(op) == 1:
                raise _bad(f"operation {number} deletes the whole value")
            value = copy.deepcopy(op[1])
            continue
        parent = value
        for step in path[:-1]:
            parent = _child(parent, step, number)
        last = path[-1]
        if isinstance(parent, dict) and _is_key(last):
            if len(op) == 1:
                if last not in parent:
                    raise _bad(f"operation {number} deletes the missing key {last!r}")
                del parent[last]
            else:
                parent[last] = copy.deepcopy(op[1])
        elif isinstance(parent, list) and type(last) is int and 0 <= last < len(parent) and len(op) == 2:
            parent[last] = copy.deepcopy(op[1])
        else:
            raise _bad(f"operation {number}: path step {last!r} does not fit a {type(parent).__name__}")
    return value


def _is_key(step: Any) -> bool:
    return isinstance(step, str) or (type(step) is int and step >= 0)


def _child(parent: Any, step: Any, number: int) -> Any:
    if isinstance(parent, dict) and _is_key(step) and step in parent:
        return parent[step]
    if isinstance(parent, list) and type(step) is int and 0 <= step < len(parent):
        return parent[step]
    raise _bad(f"operation {number}: path step {step!r} does not exist")
