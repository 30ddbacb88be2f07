"""`dcagent infer (--port PORT | --board BOARD) --data DATA.npz [-o OUT.npz] [--model MODEL.dcb]`:
run the samples `x` of DATA on the device's running model and check every output against the
host reference interpreter.

The reference runs the model the device runs: read back from the device (SMP `model read`,
checked against the running model's SHA-256) and unpacked (host.model_format.unpack), or
MODEL.dcb when given (it must be that model: its SHA-256, or that of its device-tagged form
with --device-key, equals the device's). Outputs are compared with `==`; the first mismatch is
reported and the command exits 1. OUT.npz gets `y` (one graph output; `y0`, `y1`, ... for
several), samples first, in the output's dtype and shape, and `instructions` (uint64 per
sample): exact counts from the instruction-count plugin when the command started a QEMU
board (--board qemu-*), otherwise what the device reported (0: unknown).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
from pathlib import Path

import numpy as np

from dcagent.boards import QemuBoard
from dcagent.cli.console import Console
from dcagent.cli.device_target import add_key_option, add_target_options, device_board, parse_device_key
from dcagent.cli.exit_codes import SUCCESS, GoalNotMetError
from dcagent.errors import ConfigError, DeviceError
from dcagent.link import SmpSession, inference_instructions, prepare_image
from dcagent.link.errors import status_name
from dcagent.link.infer import RC_ARENA, DeviceModel, InferResult, infer_all, model_info, read_model
from host.errors import DataError
from host.model_format import unpack
from host.reference import run as reference_run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("infer", help="run inferences on a device's model and check them on the host",
                                   description="Run the samples `x` of DATA.npz on the device's running model; "
                                               "compare every output with the host reference interpreter on "
                                               "the same model (exit 1 at a mismatch).")
    add_target_options(parser)
    parser.add_argument("--data", type=Path, required=True, metavar="DATA.npz", help="inputs: array `x` (samples first)")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT.npz",
                        help="write the device's outputs (`y`) and `instructions` per sample")
    parser.add_argument("--model", type=Path, metavar="MODEL.dcb",
                        help="the model the device runs (default: read it back from the device)")
    add_key_option(parser)
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds per request (default 30)")
    parser.set_defaults(func=run)


def _load_inputs(path: Path) -> np.ndarray:
    try:
        with np.load(path) as npz:
            return np.asarray(npz["x"])
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: cannot read array 'x': {exc}") from exc


def _given_model(args: argparse.Namespace, info: DeviceModel) -> bytes | None:
    """MODEL.dcb when given, checked to be what the device runs. Raises ConfigError."""
    if args.model is None:
        return None
    data = args.model.read_bytes()
    key = parse_device_key(args.device_key)
    candidates = [data] + ([prepare_image(data, key)] if key is not None else [])
    if not any(hashlib.sha256(c).digest() == info.sha256 for c in candidates):
        raise ConfigError(f"{args.model} is not the model the device runs (version {info.version}, "
                          f"sha256 {info.sha256.hex()[:16]})",
                          hint="omit --model to read the running model back, or pass --device-key for a tagged one")
    return data


def _check_runnable(info: DeviceModel) -> None:
    """Raise DeviceError when the device's runtime could not load its model."""
    if info.load_status == RC_ARENA:
        raise DeviceError(f"the model needs {info.arena_bytes} bytes of arena, the device has {info.arena_capacity} "
                          "(DC_ERR_ARENA: refused before running)", code=RC_ARENA,
                          hint="compress the model further, or build the firmware with a larger ARENA_SIZE")
    if info.load_status:
        raise DeviceError(f"the device's runtime cannot run its model: {status_name(-info.load_status)}",
                          code=info.load_status)


def _first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> str | None:
    ours, theirs = ours.reshape(-1), theirs.reshape(-1)
    bad = np.flatnonzero(ours != theirs)
    return None if bad.size == 0 else f"element {bad[0]}: device {ours[bad[0]]}, reference {theirs[bad[0]]} " \
                                      f"({bad.size} of {ours.size} differ)"


def _split_outputs(result: InferResult, specs: list[tuple[tuple[int, ...], np.dtype]], index: int) -> list[np.ndarray]:
    """The device's concatenated output bytes as arrays of the graph outputs' shapes and dtypes."""
    arrays, at = [], 0
    for shape, dtype in specs:
        size = int(np.prod(shape)) * dtype.itemsize
        arrays.append(np.frombuffer(result.output[at:at + size], dtype=dtype).reshape(shape))
        at += size
    if at != len(result.output):
        raise DeviceError(f"sample {index}: the device answered {len(result.output)} output bytes, "
                          f"the model's outputs are {at}")
    return arrays


def run(args: argparse.Namespace, console: Console) -> int:
    x = _load_inputs(args.data)
    if x.ndim < 1 or len(x) == 0:
        raise DataError(f"{args.data}: 'x' holds no samples")
    with device_board(args, console) as (port, board):
        async def go() -> tuple[bytes, list[InferResult]]:
            async with SmpSession(port, timeout_s=args.timeout) as session:
                info = await model_info(session)
                _check_runnable(info)
                container = _given_model(args, info) or await read_model(session)
                graph = unpack(container)
                if len(graph.inputs) != 1:
                    raise DataError(f"the model takes {len(graph.inputs)} inputs; `dcagent infer` feeds one")
                spec = graph.input_tensors()[0]
                if x.dtype != spec.dtype.numpy or int(np.prod(x.shape[1:])) != int(np.prod(spec.shape)):
                    raise DataError(f"{args.data}: 'x' is {x.dtype}{list(x.shape)}; the model takes samples of "
                                    f"{spec.dtype.value}{list(spec.shape)}")
                return container, await infer_all(session, x)
        container, results = asyncio.run(go())
        instructions = [r.instructions for r in results]
        if isinstance(board, QemuBoard):
            spans = inference_instructions(board.instructions().marks)
            if len(spans) >= len(results):
                instructions = spans[-len(results):]
    graph = unpack(container)
    (spec,) = graph.input_tensors()
    outputs = graph.output_tensors()
    specs = [(tuple(t.shape), np.dtype(t.dtype.numpy)) for t in outputs]
    device = [_split_outputs(r, specs, i) for i, r in enumerate(results)]
    problems = []
    for i, sample in enumerate(x):
        reference = reference_run(graph, [np.asarray(sample).reshape(spec.shape)])
        for k, (ours, theirs) in enumerate(zip(device[i], reference)):
            problem = _first_mismatch(ours, np.asarray(theirs))
            if problem is not None:
                problems.append(f"sample {i}, output {k} ({outputs[k].name}): {problem}")
    if args.output is not None:
        arrays = {("y" if len(specs) == 1 else f"y{k}"): np.stack([d[k] for d in device]) for k in range(len(specs))}
        np.savez(args.output, **arrays, instructions=np.asarray(instructions, dtype=np.uint64))
    if problems:
        for line in problems[:5]:
            console.error(line)
        raise GoalNotMetError(f"{len(problems)} output(s) of {len(results)} inferences differ from the host reference; "
                              f"first: {problems[0]}")
    counted = [n for n in instructions if n]
    per = f"; {int(np.mean(counted)):,} instructions per inference" if counted else ""
    console.result(f"{len(results)} inferences: every output equals the host reference{per}")
    return SUCCESS
