"""edge-digit: handwritten digit recognition at the edge.

    from edge_digit import Classifier
    clf = Classifier()                 # the model shipped with the package
    clf.predict("digit.png").label     # -> 7

Importing this package loads onnxruntime, numpy and OpenCV, never TensorFlow.
"""

from .runtime import (
    Classifier,
    Contract,
    ContractError,
    DataError,
    DigitReading,
    EdgeDigitError,
    ExportError,
    FileResult,
    ImageError,
    ModelError,
    Prediction,
    Reading,
    ReadResult,
    VideoError,
    classify_files,
    read_files,
    read_number,
)

__version__ = "0.1.0"
__all__ = ["Classifier", "Prediction", "classify_files", "FileResult", "read_number", "read_files", "Reading",
           "DigitReading", "ReadResult", "Contract", "EdgeDigitError", "ImageError", "ModelError", "ContractError",
           "DataError", "ExportError", "VideoError", "__version__"]
