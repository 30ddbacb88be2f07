"""TFLite flatbuffers without TensorFlow: `read_model` into the graph IR, `write_model` back."""
from host.tflite.reader import read_model
from host.tflite.writer import write_model

__all__ = ["read_model", "write_model"]
