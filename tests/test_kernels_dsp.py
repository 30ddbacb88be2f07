"""The Cortex-M DSP kernels (firmware/lib/arch/armv7em) equal the reference kernels, on the QEMU boards.

The firmware's `kcheck` command (firmware/app/kernel_check.h) runs the reference kernel and the
board's kernel on the same generated case and reports the first mismatch; here every CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED layer shape of the four MLPerf Tiny int8 models and a few
hundred random cases (strides, padding, dilation, groups, depth multipliers, zero points, activation
ranges, all three roundings, shifts of both signs, tie-heavy multipliers, error cases) must give the
same status and identical int8 outputs. A few cases are also recomputed on the host (host._kernels)
from the same seed, which ties the on-board generator and reference to the host.
"""
from __future__ import annotations

import random

import pytest
import serial

from dcagent.boards import QemuBoard
from dcagent.boards.kcheck import (ConvCase, DepthwiseCase, FullyConnectedCase, crc32, generate_tensors,
                                   model_layer_cases, parse_reply)
from host import _kernels as K

pytestmark = pytest.mark.qemu

MODELS = ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"]
# The layer counts of the four models (conv + depthwise + fully connected), so none is skipped silently.
LAYERS = {"kws_ref_model": 10, "pretrainedResnet_quant": 10, "vww_96_int8": 28, "ad01_int8": 10}
RANDOM_CASES = 150
START_TIMEOUT_S = 120.0
REPLY_TIMEOUT_S = 60.0


class Console:
    """One kcheck command out, its reply line back."""

    def __init__(self, port: str) -> None:
        self.serial = serial.Serial(port, timeout=REPLY_TIMEOUT_S)

    def kcheck(self, case):
        self.serial.write(case.command().encode() + b"\n")
        raw = self.serial.readline()
        assert raw.endswith(b"\n"), f"no answer to {case.command()!r} (got {raw!r})"
        return parse_reply(raw.decode())


@pytest.fixture(scope="module", params=["qemu-m4", "qemu-m7", "qemu-m33"])
def board(request):
    with QemuBoard(request.param, profile=False) as b:
        console = Console(b.port)
        yield request.param, console
        console.serial.close()


def _out(size: int, stride: int, k: int, dil: int, pad: int, rng: random.Random) -> int | None:
    span = size + 2 * pad - ((k - 1) * dil + 1)
    if span < 0:
        return None
    return span // stride + 1 + (rng.random() < 0.3 and (span + 1) // stride + 1 != span // stride + 1)


def random_cases(seed: int, count: int) -> list:
    """Valid conv / depthwise / FC cases of every flavour the kernels branch on."""
    rng = random.Random(seed)
    cases: list = []
    while len(cases) < count:
        kind = rng.choice(["conv", "conv", "dw", "fc"])
        common = dict(seed=rng.randrange(1, 2**31), input_offset=rng.choice([rng.randint(-127, 128), rng.randint(-255, 255)]),
                      output_offset=rng.randint(-128, 127), rounding=rng.randrange(3), mult_mode=int(rng.random() < 0.3),
                      bias_bits=rng.choice([0, 8, 16, 24, 32]))
        lo = rng.randint(-128, 0)
        common["act"] = (lo, rng.randint(lo, 127)) if rng.random() < 0.5 else (-128, 127)
        if kind == "fc":
            depth = rng.randint(1, 80)
            s = rng.randint(-26, 2)
            cases.append(FullyConnectedCase(batches=rng.randint(1, 3), depth=depth, units=rng.randint(1, 20),
                                            filter_offset=rng.choice([0, 0, rng.randint(-255, 255)]),
                                            per_channel=rng.random() < 0.5,
                                            shift_range=(s - rng.randint(0, 6), s), **common))
            continue
        n, h, w = rng.randint(1, 2), rng.randint(1, 9), rng.randint(1, 9)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        stride = (rng.randint(1, 3), rng.randint(1, 3))
        dil = (rng.choice([1, 1, 2]), rng.choice([1, 1, 3]))
        pad = (rng.randint(0, kh), rng.randint(0, kw))
        oh, ow = _out(h, stride[0], kh, dil[0], pad[0], rng), _out(w, stride[1], kw, dil[1], pad[1], rng)
        if oh is None or ow is None:
            continue
        k_est = kh * kw * 8
        s = -(max(k_est, 1).bit_length() // 2 + 8) + rng.randint(-3, 3)
        common.update(n=n, h=h, w=w, kh=kh, kw=kw, stride=stride, dilation=dil, pad=pad, out_hw=(oh, ow),
                      shift_range=(s - rng.randint(0, 4), s + rng.choice([0, 0, 12])))
        if kind == "dw":
            c = rng.choice([1, 3, 4, 8, 12, rng.randint(1, 20)])
            cases.append(DepthwiseCase(c=c, dm=rng.choice([1, 1, 1, 2, 3]), **common))
        else:
            fc = rng.choice([1, 2, 3, 4, 5, 8, 16, rng.randint(1, 24)])
            groups = rng.choice([1, 1, 1, 2, 3])
            cout = groups * rng.randint(1, 9)
            cases.append(ConvCase(c=fc * groups, fc=fc, cout=cout, **common))
    return cases


@pytest.mark.parametrize("board", ["qemu-m4"], indirect=True)
def test_every_mlperf_tiny_layer_equal(board, mlperf_tiny):
    _, console = board
    checked = 0
    for model in MODELS:
        layers = model_layer_cases(mlperf_tiny / f"{model}.tflite")
        assert len(layers) == LAYERS[model]
        for layer in layers:
            reply = console.kcheck(layer.case)
            assert reply.ref_status == "DC_OK" and reply.equal, f"{model} op {layer.op_index} {layer.kind}: {reply.describe()}"
            assert reply.outputs == layer.case.outputs
            checked += 1
    assert checked == sum(LAYERS.values())


def test_random_cases_equal(board):
    name, console = board
    statuses = set()
    for case in random_cases(seed=2024, count=RANDOM_CASES):
        reply = console.kcheck(case)
        assert reply.equal, f"{name}: {case.command()}: {reply.describe()}"
        statuses.add(reply.ref_status)
    assert "DC_OK" in statuses


def test_errors_and_scratch_size(board):
    name, console = board
    good = ConvCase(seed=7, n=1, h=6, w=6, c=8, kh=3, kw=3, fc=8, cout=6, pad=(1, 1), out_hw=(6, 6), input_offset=5)
    assert console.kcheck(good).equal
    # wrong output size, bad stride, bad rounding mode: the same error from both, nothing written
    for bad, status in [(ConvCase(**{**good.__dict__, "out_hw": (8, 6)}), "DC_ERR_SHAPE"),
                        (ConvCase(**{**good.__dict__, "stride": (0, 1)}), "DC_ERR_ARG"),
                        (DepthwiseCase(seed=3, n=1, h=4, w=4, c=4, kh=3, kw=3, out_hw=(2, 2), rounding=3), "DC_ERR_ARG"),
                        (FullyConnectedCase(seed=3, batches=1, depth=8, units=4, act=(10, 5)), "DC_ERR_ARG")]:
        reply = console.kcheck(bad)
        assert reply.ref_status == status and reply.equal, f"{name}: {bad.command()}: {reply.describe()}"
    # one byte less scratch than dc_conv_s8_get_buffer_size() asks for: the DSP kernel refuses
    short = console.kcheck(ConvCase(**{**good.__dict__, "scratch_delta": -1}))
    assert short.ref_status == "DC_OK"
    assert short.opt_status == "DC_ERR_BUFFER"
    assert short.mismatches == 0 and not short.overrun  # nothing written by the refusing kernel


def _host_output(case) -> bytes:
    t = generate_tensors(case)
    if isinstance(case, FullyConnectedCase):
        return K.fully_connected_s8(input=t.input, filter=t.filter, bias=t.bias, batches=case.batches,
                                    depth=case.depth, units=case.units, multipliers=t.multipliers, shifts=t.shifts,
                                    input_offset=case.input_offset, filter_offset=case.filter_offset,
                                    output_offset=case.output_offset, act_min=case.act[0], act_max=case.act[1],
                                    rounding=case.rounding)
    channels = case.outputs // (case.n * case.out_hw[0] * case.out_hw[1])
    depthwise = isinstance(case, DepthwiseCase)
    fn = K.depthwise_conv_s8 if depthwise else K.conv_s8
    return fn(input=t.input, input_shape=(case.n, case.h, case.w, case.c), filter=t.filter,
              filter_shape=(1, case.kh, case.kw, channels) if depthwise else (case.cout, case.kh, case.kw, case.fc),
              bias=t.bias, output_shape=(case.n, *case.out_hw, channels), multipliers=t.multipliers, shifts=t.shifts,
              input_offset=case.input_offset, output_offset=case.output_offset, stride=case.stride,
              dilation=case.dilation, padding=case.pad, act_min=case.act[0], act_max=case.act[1],
              depth_multiplier=case.dm if depthwise else 1, rounding=case.rounding)


def test_device_reference_equals_host(board):
    """The on-board generator + reference kernel give the host's output (CRC-32 of the int8 bytes)."""
    name, console = board
    for case in random_cases(seed=99, count=12):
        reply = console.kcheck(case)
        if reply.ref_status != "DC_OK":
            continue
        assert crc32(bytes(_host_output(case))) == reply.crc, f"{name}: {case.command()}: host and device reference differ"


def test_fallback_paths_equal(board):
    """Shapes that leave the fast paths: > 64 depthwise taps, > 16 border spans, shifts outside
    [-22, -1] (shift 0 has its own form), an input zero point outside int8 with Cin % 4 != 0, groups,
    a wide 1-pixel image, and the band path of few-channel inputs."""
    name, console = board
    cases = [
        DepthwiseCase(seed=41, n=1, h=12, w=12, c=8, kh=9, kw=9, pad=(4, 4), out_hw=(12, 12), input_offset=7,
                      shift_range=(-12, -10)),
        DepthwiseCase(seed=42, n=1, h=3, w=40, c=4, kh=1, kw=21, pad=(0, 10), out_hw=(3, 40), input_offset=-9,
                      shift_range=(-10, -9)),
        DepthwiseCase(seed=43, n=1, h=6, w=6, c=8, kh=3, kw=3, pad=(1, 1), out_hw=(6, 6), input_offset=1,
                      shift_range=(-31, -23), bias_bits=32, mult_mode=1),
        ConvCase(seed=44, n=1, h=5, w=5, c=8, kh=3, kw=3, fc=8, cout=5, pad=(1, 1), out_hw=(5, 5), input_offset=3,
                 shift_range=(-31, -23), bias_bits=32),
        ConvCase(seed=45, n=1, h=5, w=6, c=3, kh=3, kw=2, fc=3, cout=4, pad=(1, 1), out_hw=(5, 7),
                 input_offset=-200, shift_range=(-9, 3)),
        ConvCase(seed=46, n=2, h=4, w=4, c=12, kh=2, kw=2, fc=4, cout=9, stride=(2, 2), out_hw=(2, 2),
                 input_offset=0, act=(-5, 60), rounding=2, shift_range=(-7, -6)),
        ConvCase(seed=47, n=1, h=1, w=1, c=64, kh=1, kw=1, fc=64, cout=64, out_hw=(1, 1), input_offset=128,
                 shift_range=(-10, -9)),
        # the shape of the compressed fashion_cnn's first layer, whose pruned channels (weight scale 1.0)
        # have shift 0: the shift-0 requantization form, on the band path (Cin 1, 16 channels)
        ConvCase(seed=48, n=1, h=28, w=28, c=1, kh=3, kw=3, fc=1, cout=16, out_hw=(26, 26), input_offset=128,
                 output_offset=-128, act=(-128, 127), shift_range=(-9, 0), bias_bits=14),
        ConvCase(seed=49, n=1, h=9, w=9, c=1, kh=3, kw=3, fc=1, cout=16, out_hw=(7, 7), input_offset=128,
                 output_offset=-128, act=(-128, 127), shift_range=(0, 0), bias_bits=32, mult_mode=1),
        # band path: odd K, padding, stride 2, vertical dilation, an odd channel count, a narrow range
        ConvCase(seed=50, n=2, h=11, w=9, c=3, kh=3, kw=3, fc=3, cout=7, stride=(2, 2), dilation=(2, 1),
                 pad=(2, 1), out_hw=(6, 5), input_offset=-255, output_offset=9, act=(-20, 90), rounding=2,
                 shift_range=(-8, 0)),
        DepthwiseCase(seed=51, n=1, h=7, w=7, c=8, kh=3, kw=3, pad=(1, 1), out_hw=(7, 7), input_offset=128,
                      shift_range=(-9, 0), bias_bits=32),
    ]
    for case in cases:
        reply = console.kcheck(case)
        assert reply.ref_status == "DC_OK" and reply.equal, f"{name}: {case.command()}: {reply.describe()}"


def test_unpacked_filter_path_equal(board):
    """The column path with the filter unpacked once per call (one group, K % 4 == 0): chunks of
    channels when the unpacked filter exceeds 8 KiB (K = 256: chunks of 16, the last one with an odd
    channel), K % 16 != 0 (single 4-value blocks after the unrolled rounds), an odd pixel count,
    padding, a narrow activation range, shifts outside the fast range, and a one-channel input with
    more than 32 output channels (staged columns, not the band path)."""
    name, console = board
    cases = [
        ConvCase(seed=60, n=2, h=3, w=5, c=256, kh=1, kw=1, fc=256, cout=19, out_hw=(3, 5), input_offset=-17,
                 output_offset=4, shift_range=(-12, -10)),
        ConvCase(seed=61, n=1, h=5, w=3, c=20, kh=1, kw=1, fc=20, cout=9, out_hw=(5, 3), input_offset=128,
                 act=(-30, 100), rounding=1, shift_range=(-9, -7)),
        ConvCase(seed=62, n=1, h=6, w=7, c=4, kh=3, kw=3, fc=4, cout=6, stride=(2, 1), pad=(1, 1), out_hw=(3, 7),
                 input_offset=-255, rounding=2, shift_range=(-24, 0), bias_bits=32),
        # 1x1 over 8 and 16 channels (one-round runners), stride 1 (the direct loop) with an odd pixel
        # count and an odd channel count, a narrow range; stride 2 with some shifts outside the fast range
        ConvCase(seed=64, n=2, h=3, w=5, c=8, kh=1, kw=1, fc=8, cout=7, out_hw=(3, 5), input_offset=128,
                 act=(-60, 90), shift_range=(-9, -6)),
        ConvCase(seed=65, n=1, h=4, w=4, c=16, kh=1, kw=1, fc=16, cout=10, out_hw=(4, 4), input_offset=-128,
                 rounding=1, shift_range=(-10, -7)),
        ConvCase(seed=66, n=1, h=7, w=7, c=8, kh=1, kw=1, fc=8, cout=12, stride=(2, 2), out_hw=(4, 4),
                 input_offset=5, shift_range=(-25, -18), bias_bits=32),
        ConvCase(seed=67, n=1, h=5, w=6, c=16, kh=1, kw=1, fc=16, cout=9, out_hw=(5, 6), input_offset=128,
                 act=(-128, 0), rounding=2, shift_range=(-24, 0)),
        ConvCase(seed=63, n=1, h=9, w=9, c=1, kh=4, kw=3, fc=1, cout=35, pad=(1, 1), out_hw=(8, 9), input_offset=3,
                 shift_range=(-8, -6)),
    ]
    for case in cases:
        reply = console.kcheck(case)
        assert reply.ref_status == "DC_OK" and reply.equal, f"{name}: {case.command()}: {reply.describe()}"


def test_zero_filter_channels_equal(board):
    """Channels whose filter is all zero (kcheck ZMASK, as a compressor's pruned channels): the band
    path skips them (their output is the requantized bias), the other paths compute them. Each case is
    also recomputed on the host, which checks the mask is applied the same way on both sides."""
    name, console = board
    cases = [
        # band path (Cin 3, 16 channels): 11 of 16 pruned, with shift 0 on some, and all pruned
        ConvCase(seed=70, n=1, h=10, w=9, c=3, kh=3, kw=3, fc=3, cout=16, pad=(1, 1), out_hw=(10, 9),
                 input_offset=128, output_offset=-128, shift_range=(-9, 0), bias_bits=14, zero_mask=0xF7E0),
        ConvCase(seed=71, n=1, h=6, w=6, c=1, kh=3, kw=3, fc=1, cout=5, out_hw=(4, 4), input_offset=-3,
                 act=(-40, 127), rounding=2, shift_range=(-8, -6), zero_mask=0xFFFFFFFF),
        # an odd number of live channels on the band path, a narrow range
        ConvCase(seed=72, n=2, h=7, w=8, c=2, kh=2, kw=3, fc=2, cout=9, stride=(1, 2), out_hw=(6, 3),
                 input_offset=17, act=(-100, 50), shift_range=(-10, -7), zero_mask=0b101010010),
        # unpacked-filter path and depthwise
        ConvCase(seed=73, n=1, h=4, w=5, c=16, kh=1, kw=1, fc=16, cout=12, out_hw=(4, 5), input_offset=128,
                 shift_range=(-8, -7), zero_mask=0b100000000011),
        DepthwiseCase(seed=74, n=1, h=6, w=6, c=8, kh=3, kw=3, pad=(1, 1), out_hw=(6, 6), input_offset=128,
                      shift_range=(-8, -6), zero_mask=0b10010001),
    ]
    for case in cases:
        reply = console.kcheck(case)
        assert reply.ref_status == "DC_OK" and reply.equal, f"{name}: {case.command()}: {reply.describe()}"
        assert crc32(bytes(_host_output(case))) == reply.crc, f"{name}: {case.command()}: host and device differ"
    # the mask really zeroes the filters (host side of the generator)
    t = generate_tensors(cases[0])
    pruned = [oc for oc in range(16) if not t.filter.reshape(16, -1)[oc].any()]
    assert pruned == [oc for oc in range(16) if (0xF7E0 >> oc) & 1]
