"""Classifying a stream of files: decode and preprocess each, infer in batches, yield results
in input order. A file that cannot be read becomes an error result; the run goes on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .classifier import Classifier, Prediction
from .errors import ImageError
from .files import iter_inputs


@dataclass(frozen=True)
class FileResult:
    path: str
    prediction: Prediction | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        return {"path": self.path, **self.prediction.to_dict()}


def _prepare(classifier: Classifier, path: Path) -> tuple[np.ndarray | None, str | None]:
    try:
        return classifier.prepare(path), None
    except ImageError as exc:
        return None, str(exc)


def classify_files(classifier: Classifier, inputs: Iterable[str | os.PathLike], batch_size: int = 256) -> Iterator[FileResult]:
    """Stream results for every image named by ``inputs`` (files, folders, globs)."""
    pending: list[tuple[str, np.ndarray | None, str | None]] = []

    def flush() -> Iterator[FileResult]:
        preds = classifier.predict_prepared([d for _, d, err in pending if err is None])
        it = iter(preds)
        for path, _, err in pending:
            yield FileResult(path, error=err) if err is not None else FileResult(path, next(it))
        pending.clear()

    for path in iter_inputs(inputs):
        digit, err = _prepare(classifier, path)
        pending.append((str(path), digit, err))
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()
