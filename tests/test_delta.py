"""Delta containers (host.delta): metadata patches, make -> apply rebuilds the new container byte
for byte (signature included), tensors carried as BASE-predicted, residual or verbatim payloads,
and every way a delta can be refused: another base, a damaged recipe, a container that is no delta."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.container import cbor
from host.container.reader import open_container
from host.container.signing import private_key_from_seed, sign_container, verify_signature
from host.container.writer import layout_container
from host.delta import apply_delta, delta_record, make_delta
from host.delta import patch
from host.delta.make import BASE, RESIDUAL, VERBATIM
from host.errors import BitstreamError
from tests.agent_harness import model

KEY = private_key_from_seed(bytes(range(32)))

plain = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False,
                     allow_infinity=False, width=32) | st.text(max_size=4) | st.binary(max_size=4),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3) | st.integers(0, 40),
                                                                           inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(plain, plain)
def test_patch_turns_any_value_into_any_other(a, b):
    assert cbor.encode(patch.apply(a, patch.diff(a, b))) == cbor.encode(b)
    assert patch.diff(a, a) == []


def test_patch_refuses_paths_that_do_not_exist():
    with pytest.raises(BitstreamError, match="does not exist") as info:
        patch.apply({"a": [1]}, [[["a", 3, "x"], 1]])
    assert info.value.status == "DC_ERR_METADATA"
    with pytest.raises(BitstreamError, match="missing key"):
        patch.apply({"a": 1}, [[["b"]]])


def pair(changed_rows: int = 2):
    old = sign_container(model(1, weights=2000, seed=1), KEY)
    c = open_container(old)
    levels = c.levels(0).reshape(10, -1).copy()
    levels[:changed_rows] = np.clip(levels[:changed_rows] + np.random.default_rng(2).integers(-2, 3, levels[:changed_rows].shape), -127, 127)
    from host.container.writer import TensorPayload
    from host.container.layout import LevelDtype
    import dataclasses
    meta = dataclasses.replace(c.metadata, model=dataclasses.replace(c.metadata.model, version=2))
    from host.container.writer import build_container
    new = sign_container(build_container(meta, [TensorPayload.raw(levels.reshape(-1), LevelDtype.INT8)]), KEY)
    return old, new


def test_make_apply_rebuilds_the_signed_container_exactly():
    old, new = pair()
    delta, report = make_delta(old, new)
    assert apply_delta(old, delta) == new
    verify_signature(apply_delta(old, sign_container(delta, KEY)), KEY.public_key())
    assert report.tensors[0][0] == BASE and len(delta) < len(new) / 2
    record = delta_record(delta)
    assert record.full_content_sha256 == open_container(new).content_sha256
    assert report.patch_operations == 1   # model.version


def test_kinds_of_tensor_payloads():
    from examples.finetune import finetune, load
    from host.model_format import pack

    graph, data = load("lenet300")
    old = sign_container(pack(graph, name="lenet", version=1), KEY)
    new = sign_container(pack(finetune(graph, data, samples=40, layers=2), name="lenet", version=2), KEY)
    delta, report = make_delta(old, new)
    assert apply_delta(old, delta) == new
    kinds = [kind for kind, _, _ in report.tensors]
    assert RESIDUAL in kinds and BASE in kinds      # the int32 bias beyond the coder's range: a residual
    unrelated = sign_container(model(3, weights=2000, seed=9), KEY)
    delta, report = make_delta(old, unrelated)       # nothing in common: carried verbatim
    assert [k for k, _, _ in report.tensors] == [VERBATIM] and apply_delta(old, delta) == unrelated


def test_refusals():
    old, new = pair()
    delta, _ = make_delta(old, new)
    other = sign_container(model(1, weights=2000, seed=5), KEY)
    with pytest.raises(BitstreamError) as info:
        apply_delta(other, delta)
    assert info.value.status == "DC_ERR_BASE"
    with pytest.raises(BitstreamError) as info:
        apply_delta(old, new)
    assert info.value.status == "DC_ERR_FIELD"
    with pytest.raises(BitstreamError) as info:
        make_delta(old, delta)
    assert info.value.status == "DC_ERR_BASE"
    # a recipe that promises another content hash (as a coder of another version would produce)
    c = open_container(delta)
    meta = c.metadata
    ext = dict(meta.extensions)
    ext["delta"] = dict(ext["delta"], full=dict(ext["delta"]["full"], content_sha256=bytes(32)))
    import dataclasses
    forged_meta = dataclasses.replace(meta, extensions=ext).to_cbor()
    from host.container.writer import TensorPayload
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype, e.delta) for i, e in enumerate(c.entries)]
    forged = layout_container(forged_meta, payloads, base_sha256=c.header.base_sha256)
    with pytest.raises(BitstreamError) as info:
        apply_delta(old, forged)
    assert info.value.status == "DC_ERR_HASH"
