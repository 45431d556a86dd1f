"""Typed errors. The library raises these; the CLI maps them to one-line messages and exit codes."""

from __future__ import annotations


class EdgeDigitError(Exception):
    """Base of every error edge-digit raises on purpose."""

    exit_code = 1


class ImageError(EdgeDigitError):
    """An image could not be read or decoded (names the file and the cause)."""


class ModelError(EdgeDigitError):
    """A model file is missing, not ONNX, or does not carry a usable edge-digit contract."""

    exit_code = 2


class ContractError(ModelError):
    """The embedded preprocessing contract is absent, malformed or of an unknown schema version."""


class DataError(EdgeDigitError):
    """Training or calibration data is missing or malformed."""

    exit_code = 2


class ExportError(EdgeDigitError):
    """Export failed or the exported model disagrees with the Keras model."""


class VideoError(EdgeDigitError):
    """A camera or video source could not be opened or stopped delivering frames."""
