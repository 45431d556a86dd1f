"""`edge-digit export`: choose the check/calibration images, then export (onnx_export.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..runtime.errors import DataError
from ..runtime.preprocess import normalize_batch
from ..train import data as data_sources
from ..train.augment import augmented_inputs
from ..train.fit import read_contract
from .onnx_export import ExportResult, export_model


def int8_path_for(out: str | os.PathLike) -> Path:
    """digits-fp32.onnx -> digits-int8.onnx; model.onnx -> model-int8.onnx."""
    out = Path(out)
    stem = out.stem[: -len("-fp32")] if out.stem.endswith("-fp32") else out.stem
    return out.with_name(f"{stem}-int8{out.suffix or '.onnx'}")


def export_from_cli(keras_model: str | os.PathLike, out: str | os.PathLike, *, int8: bool, data: str | None,
                    samples: int, second_opinion: str | os.PathLike | None = None,
                    log: Callable[[str], None] = print, seed: int = 0) -> ExportResult:
    """Parity is checked on test images; int8 is calibrated on training images, half of them
    rendered photo-like (the activations the runtime will see), all through the shared preprocessing."""
    from ..train.tensorflow_import import import_tensorflow

    import_tensorflow()
    contract = read_contract(keras_model)
    source = data if data is not None else contract.extra.get("trained_with", {}).get("data")
    if source is None:
        raise DataError("no --calibration data given and the model does not record its training data")
    log(f"check/calibration data: {source}")
    ds = data_sources.load(source, seed=seed)
    rng = np.random.default_rng(seed)
    check_raw = ds.x_test[rng.permutation(len(ds.x_test))[:samples]] if len(ds.x_test) else ds.x_train[:samples]
    check, _ = normalize_batch(check_raw, contract)
    calibration = None
    if int8:
        raw = ds.x_train[rng.permutation(len(ds.x_train))[:samples]]
        half = len(raw) // 2
        plain, _ = normalize_batch(raw[:half], contract)
        calibration = np.concatenate([plain, augmented_inputs(raw[half:], contract, seed)])
    return export_model(keras_model, out, check_images=check, int8_out=int8_path_for(out) if int8 else None,
                        calibration_images=calibration, second_opinion=second_opinion, log=log)
