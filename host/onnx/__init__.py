"""ONNX models (float32) lowered to the graph IR: `read_onnx` (needs the `onnx` package)."""
from host.onnx.reader import OnnxModel, read_onnx

__all__ = ["OnnxModel", "read_onnx"]
