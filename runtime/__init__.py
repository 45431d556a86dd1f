"""The TensorFlow-free runtime: onnxruntime, numpy and OpenCV only."""

from .batch import FileResult, classify_files
from .classifier import Classifier, Prediction
from .contract import Contract
from .errors import ContractError, DataError, EdgeDigitError, ExportError, ImageError, ModelError, VideoError
from .reader import DigitReading, Reading, ReadResult, read_files, read_number

__all__ = ["Classifier", "Prediction", "classify_files", "FileResult", "read_number", "read_files", "Reading",
           "DigitReading", "ReadResult", "Contract", "EdgeDigitError", "ImageError", "ModelError", "ContractError",
           "DataError", "ExportError", "VideoError"]
