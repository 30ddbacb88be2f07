"""Data checks: what is accepted and converted, and a DataError that says what to fix."""
from __future__ import annotations

import numpy as np
import pytest

from host.data import load_data, prepare_data
from host.errors import DataError
from host.passes.quantize import quantize
from passes_models import mixture_task, trained_mlp


@pytest.fixture(scope="module")
def models():
    g = trained_mlp()
    x, _ = mixture_task(3, 200)
    return g, quantize(g, x)[0]


def test_float_model_takes_float_x(models):
    g, _ = models
    x, y = mixture_task(4, 10)
    d = prepare_data(x.astype(np.float64), y.astype(np.float32), g)
    assert d.x.dtype == np.float32 and d.y.dtype == np.int64 and d.size == 10


def test_int8_model_quantizes_float_x_and_takes_int8_as_is(models):
    _, q = models
    x, _ = mixture_task(4, 10)
    scale, zero = q.tensors[q.inputs[0]].quantization.single()
    d = prepare_data(x, None, q)
    assert d.x.dtype == np.int8
    assert np.max(np.abs((d.x.astype(np.float64) - zero) * scale - np.clip(x, (-128 - zero) * scale,
                                                                          (127 - zero) * scale))) <= scale / 2 + 1e-6
    assert prepare_data(d.x, None, q).x is d.x


@pytest.mark.parametrize("x,y,needle", [
    (np.zeros((0, 24), np.float32), None, "no samples"),
    (np.zeros((5, 23), np.float32), None, "shape"),
    (np.zeros((5, 24), np.int32), None, "float32"),
    (np.full((5, 24), np.nan, np.float32), None, "NaN"),
    (np.zeros((5, 24), np.float32), np.array([0, 1, 2, 3, 8]), "outside"),
    (np.zeros((5, 24), np.float32), np.array([0, 1, 2, 3]), "one label per sample"),
    (np.zeros((5, 24), np.float32), np.eye(8)[:5], "one-hot"),
    (np.zeros((5, 24), np.float32), np.array([0, 1.5, 2, 3, 4]), "non-integer"),
    (np.zeros((5, 24), np.float32), np.array(["a"] * 5), "integer"),
])
def test_bad_data_raises_data_error(models, x, y, needle):
    with pytest.raises(DataError, match=needle):
        prepare_data(x, y, models[0])


def test_int8_model_rejects_other_integer_x(models):
    with pytest.raises(DataError, match="int8"):
        prepare_data(np.zeros((2, 24), np.int16), None, models[1])


def test_load_data_file_errors(tmp_path, models):
    g = models[0]
    with pytest.raises(DataError, match="not a readable"):
        load_data(tmp_path / "missing.npz", g)
    np.savez(tmp_path / "nox.npz", y=np.zeros(3))
    with pytest.raises(DataError, match="no array named 'x'"):
        load_data(tmp_path / "nox.npz", g)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable"):
        load_data(tmp_path / "junk.npz", g)
    x, y = mixture_task(5, 7)
    np.savez(tmp_path / "ok.npz", x=x, y=y)
    assert load_data(tmp_path / "ok.npz", g).size == 7
