"""TFLite flatbuffers without TensorFlow: `read_model` into the graph IR, `write_model` back."""
from host.tflite.reader import read_model

__all__ = ["read_model"]
