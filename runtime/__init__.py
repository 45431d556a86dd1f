"""The TensorFlow-free runtime: onnxruntime, numpy and OpenCV only."""

from .classifier import Classifier, Prediction
from .contract import Contract
from .errors import ContractError, DataError, EdgeDigitError, ExportError, ImageError, ModelError, VideoError

__all__ = ["Classifier", "Prediction", "Contract", "EdgeDigitError", "ImageError", "ModelError", "ContractError",
           "DataError", "ExportError", "VideoError"]
