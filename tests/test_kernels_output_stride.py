"""A kernel call on a sub-range of output channels (dc_conv_params_t / dc_fully_connected_params_t
.output_stride, the runtime's streamed decode mode): the filter rows of channels [c0, c0 + n), their
bias and multipliers, the output pointer moved to channel c0 and the full channel count as the stride
write exactly those channels of the whole layer's output and nothing else.

Reference kernels through host._kernels; the Cortex-M DSP kernels are covered on qemu-m4 by
tests/test_link_qemu.py (every MLPerf layer streamed in chunks of 7 and 16 channels).
"""
import numpy as np
import pytest

from host import _kernels as K
from host.errors import KernelError

FILL = 0x5A  # host/csrc/py_kernels.c: what no kernel wrote


def conv_case(rng, cout: int):
    x = rng.integers(-128, 128, size=(2, 6, 5, 3), dtype=np.int8)
    w = rng.integers(-127, 128, size=(cout, 3, 2, 3), dtype=np.int8)
    b = rng.integers(-5000, 5000, size=cout, dtype=np.int32)
    m = rng.integers(1 << 30, (1 << 31) - 1, size=cout, dtype=np.int64).astype(np.int32)
    s = rng.integers(-10, -6, size=cout, dtype=np.int32)
    return x, w, b, m, s


def conv(x, w, b, m, s, out_shape, **over):
    args = dict(input=x, input_shape=x.shape, filter=w, filter_shape=w.shape, bias=b, output_shape=out_shape,
                multipliers=m, shifts=s, input_offset=7, output_offset=-3, stride=(2, 1), padding=(1, 0),
                act_min=-100, act_max=120)
    args.update(over)
    return np.frombuffer(K.conv_s8(**args), np.int8)


@pytest.mark.parametrize("c0, n", [(0, 3), (3, 3), (6, 1), (2, 5), (0, 7)])
def test_conv_channel_range_writes_only_its_channels(c0, n):
    rng = np.random.default_rng(c0 * 10 + n)
    cout = 7
    x, w, b, m, s = conv_case(rng, cout)
    whole = conv(x, w, b, m, s, (2, 3, 4, cout)).reshape(-1, cout)
    part = conv(x, w[c0:c0 + n], b[c0:c0 + n], m[c0:c0 + n], s[c0:c0 + n], (2, 3, 4, n), output_stride=cout,
                output_len=whole.size - c0)
    # part[i] is channel (c0 + i) % cout of pixel (c0 + i) // cout of the whole output, when that channel is in range
    padded = np.concatenate([np.full(c0, FILL, np.int8), part]).reshape(-1, cout)
    assert np.array_equal(padded[:, c0:c0 + n], whole[:, c0:c0 + n])
    assert (padded[:, :c0] == np.int8(FILL)).all() and (padded[:-1, c0 + n:] == np.int8(FILL)).all()


def test_conv_output_stride_checks():
    rng = np.random.default_rng(1)
    x, w, b, m, s = conv_case(rng, 4)
    with pytest.raises(KernelError) as err:
        conv(x, w, b, m, s, (2, 3, 4, 4), output_stride=3)  # narrower than the channels
    assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(KernelError) as err:  # one element short of (pixels - 1) * stride + channels
        conv(x, w, b, m, s, (2, 3, 4, 4), output_stride=9, output_len=23 * 9 + 4 - 1)
    assert err.value.status == "DC_ERR_BUFFER"
    conv(x, w, b, m, s, (2, 3, 4, 4), output_stride=9, output_len=23 * 9 + 4)
    with pytest.raises(KernelError) as err:  # depthwise takes no sub-range: 0 or its channel count only
        K.depthwise_conv_s8(input=x, input_shape=x.shape, filter=np.ones((1, 3, 3, 3), np.int8),
                            filter_shape=(1, 3, 3, 3), bias=b[:3], output_shape=(2, 4, 3, 3), multipliers=m[:3],
                            shifts=s[:3], input_offset=0, output_offset=0, output_stride=6)
    assert err.value.status == "DC_ERR_ARG"


@pytest.mark.parametrize("per_tensor", [False, True])
def test_fully_connected_unit_range(per_tensor):
    rng = np.random.default_rng(4)
    batches, depth, units, u0, n = 3, 10, 9, 4, 4
    x = rng.integers(-128, 128, size=(batches, depth), dtype=np.int8)
    w = rng.integers(-127, 128, size=(units, depth), dtype=np.int8)
    b = rng.integers(-3000, 3000, size=units, dtype=np.int32)
    count = 1 if per_tensor else units
    m = np.full(count, 1 << 30, np.int32) if per_tensor else rng.integers(1 << 30, (1 << 31) - 1, size=units,
                                                                          dtype=np.int64).astype(np.int32)
    s = np.full(count, -5, np.int32)

    def fc(w_, b_, m_, s_, n_, **over):
        return np.frombuffer(K.fully_connected_s8(input=x, filter=w_, bias=b_, batches=batches, depth=depth, units=n_,
                                                  multipliers=m_, shifts=s_, input_offset=3, filter_offset=0,
                                                  output_offset=5, **over), np.int8)

    whole = fc(w, b, m, s, units).reshape(batches, units)
    qm, qs = (m, s) if per_tensor else (m[u0:u0 + n], s[u0:u0 + n])
    part = fc(w[u0:u0 + n], b[u0:u0 + n], qm, qs, n, output_stride=units, output_len=batches * units - u0)
    padded = np.concatenate([np.full(u0, FILL, np.int8), part]).reshape(batches, units)
    assert np.array_equal(padded[:, u0:u0 + n], whole[:, u0:u0 + n])
    assert (padded[:, :u0] == np.int8(FILL)).all() and (padded[:-1, u0 + n:] == np.int8(FILL)).all()
    with pytest.raises(KernelError) as err:
        fc(w[:n], b[:n], qm, qs, n, output_stride=n - 1)
    assert err.value.status == "DC_ERR_ARG"
