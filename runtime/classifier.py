"""The library API: ``Classifier`` loads an edge-digit ONNX model and classifies pictures.

Pipeline per picture: decode -> the shared preprocessing (driven by the model's contract)
-> batched onnxruntime inference -> typed ``Prediction``.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np

from .decode import as_picture, read_image
from .errors import ImageError, ModelError
from .model_file import default_threads, open_session, read_model, second_opinion, shipped_model
from .preprocess import normalize, to_gray, to_model_input
from .second_look import BELOW as SECOND_LOOK_BELOW
from .second_look import averaged, unsure_rows, views_of

ImageLike = Union[str, os.PathLike, np.ndarray, "PIL.Image.Image"]  # noqa: F821

NO_INK = "no ink found"
# Up to this many images, a batch runs on one onnxruntime thread: splitting so little work costs
# more in hand-offs than it gains (`edge-digit benchmark`: one digit at a time, one thread is
# about 1.5x as fast as two; at batch 32 two threads are ahead; BENCHMARKS.md)
SMALL_BATCH = 16
# A one-thread session runs a batch in parts of this many images: the activations of a dozen
# digits stay in the core's cache, those of 256 do not (one thread: 36.5-37 us an image at
# 8-16, 43.5 at 256). Sessions on more threads take whole batches, which they split among them.
ONE_THREAD_PART = 16
UNSURE = "unsure"


def as_gray(image: ImageLike) -> np.ndarray:
    """A file path, a decoded array (OpenCV's BGR(A) order) or a PIL image -> uint8 gray."""
    if isinstance(image, (str, os.PathLike)):
        return to_gray(read_image(image, gray=True))
    if isinstance(image, np.ndarray):
        return to_gray(as_picture(image))
    if hasattr(image, "mode") and hasattr(image, "size"):  # PIL image, without importing PIL here
        name = getattr(image, "filename", "") or "<PIL image>"
        return to_gray(as_picture(_pil_pixels(image, name), name), rgb=True)
    raise TypeError(f"cannot classify an object of type {type(image).__name__}")


def _pil_pixels(image, name: str) -> np.ndarray:
    """A PIL image's pixels as gray, RGB or RGBA. PIL decodes lazily, so a damaged file fails here."""
    try:
        if image.mode in ("P", "LA", "PA"):
            image = image.convert("RGBA")
        elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):  # channels that would pass for RGB(A)
            image = image.convert("RGB")
        return np.asarray(image)
    except Exception as exc:  # PIL's decoders raise many types on damaged data (OSError, EOFError, struct.error, ...)
        raise ImageError(f"{name}: cannot decode ({' '.join(str(exc).split())[:200] or type(exc).__name__})") from None


@dataclass(frozen=True)
class Prediction:
    """``label`` is None when the picture holds no digit or the model is unsure (see ``reason``)."""

    label: int | None
    confidence: float
    top: list[tuple[int, float]] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 6), "top": [[k, round(p, 6)] for k, p in self.top]}
        if self.reason:
            out["reason"] = self.reason
        return out


class Classifier:
    """Classify single digits. ``model`` defaults to the model shipped with the package.

    ``min_confidence``: a top probability below it gives ``label=None, reason="unsure"``.
    ``second_look``: a top probability below it sends the digit for a second look (second_look.py:
    the answers for a few slightly changed views, averaged); 0 turns it off.
    ``threads``: onnxruntime intra-op threads. By default batches of up to SMALL_BATCH images run
    on one thread and larger ones on one thread per core (up to 4).
    """

    def __init__(self, model: str | os.PathLike | None = None, *, min_confidence: float = 0.5, top_k: int = 3,
                 second_look: float = SECOND_LOOK_BELOW, threads: int | None = None, batch_size: int = 256) -> None:
        self.model_path = Path(model) if model is not None else shipped_model()
        source = read_model(self.model_path)
        self.session, self.contract = open_session(source, self.model_path, 1 if threads is None else threads)
        self._second = self._second_session()
        self._source = source
        # the session for large batches is opened on the first one (a single picture never needs it)
        self._grows = threads is None and default_threads() > 1
        self._large_session = None
        self.min_confidence = min_confidence
        self.second_look = second_look
        self.top_k = max(1, min(top_k, len(self.contract.labels)))
        self.batch_size = batch_size
        self._part = min(batch_size, ONE_THREAD_PART) if threads in (None, 1) else batch_size  # for self.session
        self._labels = [int(v) for v in self.contract.labels]

    # -- stages -----------------------------------------------------------------------------
    def prepare(self, image: ImageLike) -> np.ndarray | None:
        """Any picture -> the uint8 model input (None when it holds no ink)."""
        return normalize(as_gray(image), self.contract)

    def infer(self, digits: np.ndarray) -> np.ndarray:
        """uint8 [N, H, W] model inputs -> probabilities [N, labels]."""
        session = self._session_for(len(digits))
        return self._run(session, digits, self.batch_size if session is self._large_session else self._part)

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """``infer``, then a second look at the digits read less surely than ``second_look``."""
        probs = self.infer(digits)
        rows = unsure_rows(probs, self.second_look)
        if len(rows):
            probs[rows] = self._look_again(digits[rows], probs[rows])
        return probs

    def _look_again(self, digits: np.ndarray, first: np.ndarray) -> np.ndarray:
        """The mean of the answers for a few views of each digit, and of the model file's second
        network (if it carries one) for the digits and their views."""
        views = views_of(digits)
        answers = [first, self.infer(views)]
        if self._second is not None:
            answers += [self._run(self._second, digits, self._part), self._run(self._second, views, self._part)]
        return averaged(answers)

    def _run(self, session, digits: np.ndarray, step: int) -> np.ndarray:
        x = to_model_input(digits, self.contract)
        name_in, name_out = self.contract.input_name, self.contract.output_name
        try:
            parts = [session.run([name_out], {name_in: x[i : i + step]})[0] for i in range(0, len(x), step)]
        except Exception as exc:  # onnxruntime raises several private exception types
            first = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise ModelError(f"{self.model_path}: inference failed ({first})") from None
        probs = np.concatenate(parts) if parts else np.zeros((0, len(self._labels)), np.float32)
        if probs.shape != (len(x), len(self._labels)) or not np.isfinite(probs).all():
            raise ModelError(f"{self.model_path}: the model's output is not finite probabilities of shape [N, {len(self._labels)}]")
        return probs

    def _second_session(self):
        """A session of the second network the model file carries (None if it carries none)."""
        second = second_opinion(self.session, self.contract, self.model_path)
        return None if second is None else second[0]

    def _session_for(self, n: int):
        if n <= SMALL_BATCH or not self._grows:
            return self.session
        if self._large_session is None:
            self._large_session = open_session(self._source, self.model_path)[0]
        return self._large_session

    def with_own_session(self) -> "Classifier":
        """A copy with a new one-thread session, for a forked worker process: a session is not
        shared across a fork (its threads and locks stay behind in the parent)."""
        clone = copy.copy(self)
        clone.session = open_session(self._source, self.model_path, 1)[0]
        clone._second = clone._second_session()
        clone._grows, clone._large_session = False, None
        clone._part = min(self.batch_size, ONE_THREAD_PART)
        return clone

    def decide(self, probs: np.ndarray) -> list[Prediction]:
        """Probabilities -> predictions, applying the confidence threshold."""
        k = self.top_k
        order = np.argsort(-probs, axis=1)[:, :k]
        out = []
        # as Python lists: indexing numpy rows and scalars costs more per image than the lists do
        for row, idx in zip(probs.tolist(), order.tolist()):
            top = [(self._labels[i], row[i]) for i in idx]
            label, conf = top[0]
            if conf < self.min_confidence:
                out.append(Prediction(None, conf, top, UNSURE))
            else:
                out.append(Prediction(label, conf, top))
        return out

    # -- public -----------------------------------------------------------------------------
    def predict(self, image: ImageLike) -> Prediction:
        # one picture straight through: the batch path's bookkeeping cost 12 us of ~150
        digit = self.prepare(image)
        if digit is None:
            return Prediction(None, 0.0, [], NO_INK)
        return self.decide(self.probabilities(digit[None]))[0]

    def predict_batch(self, images: Sequence[ImageLike] | Iterable[ImageLike]) -> list[Prediction]:
        """Classify many pictures in one batched inference. Errors (ImageError) propagate."""
        return self.predict_prepared([self.prepare(img) for img in images])

    def predict_prepared(self, prepared: Sequence[np.ndarray | None]) -> list[Prediction]:
        """Model inputs from ``prepare`` (None for pictures without ink) -> predictions."""
        digits = [d for d in prepared if d is not None]
        return self.predictions(self.probabilities(np.stack(digits)) if digits else None, [d is not None for d in prepared])

    def predictions(self, probs: np.ndarray | None, found: Sequence[bool]) -> list[Prediction]:
        """Probabilities of the pictures with ink, in order -> one prediction per picture."""
        decided = iter(self.decide(probs) if probs is not None else ())
        return [next(decided) if ink else Prediction(None, 0.0, [], NO_INK) for ink in found]
