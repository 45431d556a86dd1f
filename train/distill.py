"""Distillation: a lean student learns from an ensemble of trained teachers.

An average of several models reads MNIST better than any one of them, but costs their sum at
run time. A student is trained on the ensemble's softened probabilities as well as the true
labels, to keep part of the ensemble's gain at one model's cost (for the shipped network's size
it did not, on validation digits: BENCHMARKS.md). Teachers answer once, before training, on the same preprocessed inputs the student sees
(plain digits and every rendering); the training wrapper's small shifts and zooms leave those
answers valid.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..runtime.contract import Contract
from ..runtime.errors import DataError
from ..runtime.preprocess import to_model_input

TEMPERATURE = 3.0  # softens the teachers' answers so the runner-up classes carry information
SOFT_WEIGHT = 0.7  # share of the loss given to matching the teachers (the rest: the true labels)


def _same_preprocessing(a: Contract, b: Contract) -> bool:
    return a.with_(extra={}, precision="fp32") == b.with_(extra={}, precision="fp32")


def teacher_targets(paths: Sequence[str], contract: Contract, inputs: Sequence[np.ndarray],
                    log: Callable[[str], None] = print) -> list[np.ndarray]:
    """Softened ensemble probabilities [N, labels] for each uint8 input set in ``inputs``.

    The ensemble averages the teachers' log-probabilities (a geometric mean), then divides by
    TEMPERATURE before the softmax. A teacher that preprocesses differently is refused: its
    answers would be about pictures the student never sees."""
    from .fit import load_model

    sums = [np.zeros((len(x), len(contract.labels)), np.float64) for x in inputs]
    for path in paths:
        model, theirs = load_model(path)
        if not _same_preprocessing(theirs, contract):
            raise DataError(f"{path}: teacher was trained with other preprocessing or labels; refused")
        for total, x in zip(sums, inputs):
            probs = model.predict(to_model_input(x, contract), batch_size=1024, verbose=0)
            total += np.log(np.clip(probs, 1e-12, 1.0))
        log(f"teacher {path}: answered {sum(map(len, inputs))} inputs")
    targets = []
    for total in sums:
        z = total / (len(paths) * TEMPERATURE)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        targets.append((p / p.sum(axis=1, keepdims=True)).astype(np.float32))
    return targets


def pack_targets(labels: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """One array for Keras' ``y``: [one-hot true label | softened teacher probabilities]."""
    onehot = np.eye(soft.shape[1], dtype=np.float32)[labels]
    return np.concatenate([onehot, soft], axis=1)


def distillation_loss(y_true, y_pred):
    """Cross-entropy with the true label plus TEMPERATURE² x KL(teachers || softened student).
    The student outputs probabilities; their log is its logits up to a constant, which the
    softmax ignores."""
    from keras import ops

    n = ops.shape(y_pred)[-1]
    onehot, soft = y_true[:, :n], y_true[:, n:]
    log_p = ops.log(ops.clip(y_pred, 1e-7, 1.0))
    hard = -ops.sum(onehot * log_p, axis=-1)
    log_q = ops.log_softmax(log_p / TEMPERATURE, axis=-1)
    kl = ops.sum(soft * (ops.log(ops.clip(soft, 1e-12, 1.0)) - log_q), axis=-1)
    return (1.0 - SOFT_WEIGHT) * hard + SOFT_WEIGHT * TEMPERATURE**2 * kl
