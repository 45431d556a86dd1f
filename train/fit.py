"""Training: data -> shared preprocessing (+ augmented renderings) -> Keras fit -> model.keras.

Epochs and the learning-rate schedule are fixed up front; progress is judged on a validation
split carved out of the training data, and the model saved is the last one, never a
checkpoint picked by its test score. The test set is scored once, at the end.
"""

from __future__ import annotations

import os
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np

from ..runtime.atomic import atomic_path
from ..runtime.contract import Contract
from ..runtime.errors import DataError
from ..runtime.preprocess import normalize_batch
from . import data as data_sources
from .augment import augmented_inputs

CONTRACT_MEMBER = "edge_digit_contract.json"  # stored inside the .keras zip beside Keras' own files
MAX_CONTRACT_BYTES = 1024 * 1024


@dataclass
class TrainConfig:
    data: str | None = None
    out: str = "model.keras"
    seed: int = 0
    epochs: int = 20
    batch_size: int = 128
    width: str = "wide"
    augment_copies: int = 2  # rendered photo/scan-like copies of each training digit
    val_size: int = 5000
    learning_rate: float = 3e-3
    limit: int | None = None  # use only the first N training images (quick runs, tests)
    teachers: list[str] = field(default_factory=list)  # .keras models to distil from (train/distill.py)
    workers: int = max(1, min(4, os.cpu_count() or 1))


@dataclass
class EpochLog:
    epoch: int
    loss: float
    val_accuracy: float
    seconds: float


@dataclass
class TrainResult:
    model_path: str
    val_accuracy: float
    test_accuracy: float
    test_images: int
    epochs: list[EpochLog] = field(default_factory=list)


def _render_chunk(args: tuple[np.ndarray, str, int]) -> np.ndarray:
    import cv2

    cv2.setNumThreads(1)  # one worker per core: no oversubscription
    x, contract_json, seed = args
    return augmented_inputs(x, Contract.from_json(contract_json), seed)


def prepare_inputs(x: np.ndarray, contract: Contract, copies: int, seed: int, workers: int) -> list[np.ndarray]:
    """The plain digits plus ``copies`` augmented renderings, all through the shared preprocessing."""
    plain, _ = normalize_batch(x, contract)
    if copies == 0:
        return [plain]
    chunks = np.array_split(np.arange(len(x)), max(1, workers * 4))
    jobs = [(x[idx], contract.to_json(), seed * 1000 + c * 100 + j) for c in range(copies) for j, idx in enumerate(chunks)]
    if workers > 1:
        # spawn, not fork: the parent may already hold TensorFlow's threads
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            rendered = list(pool.map(_render_chunk, jobs))
    else:
        rendered = [_render_chunk(j) for j in jobs]
    per_copy = len(chunks)
    return [plain] + [np.concatenate(rendered[c * per_copy : (c + 1) * per_copy]) for c in range(copies)]


def split_indices(n: int, seed: int, val_size: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(validation, training) indices into a training set of ``n`` images, as ``train`` carves
    them: a validation split that models trained with this seed never learn from."""
    order = np.random.default_rng(seed).permutation(n)
    if limit:
        order = order[:limit]
    n_val = min(val_size, len(order) // 5)
    return order[:n_val], order[n_val:]


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> TrainResult:
    contract = Contract(extra={"trained_with": {k: v for k, v in asdict(cfg).items() if k not in ("out", "workers")}})
    ds = data_sources.load(cfg.data, seed=cfg.seed)
    val_idx, train_idx = split_indices(len(ds.x_train), cfg.seed, cfg.val_size, cfg.limit)
    n_val = len(val_idx)
    if len(train_idx) == 0:
        raise DataError(f"{ds.source}: too few training images to carve a validation split")
    log(f"data: {ds.source}: {len(train_idx)} train, {n_val} validation, {len(ds.x_test)} test images")

    t0 = time.perf_counter()
    train_sets = prepare_inputs(ds.x_train[train_idx], contract, cfg.augment_copies, cfg.seed, cfg.workers)
    x_val, _ = normalize_batch(ds.x_train[val_idx], contract)
    x_test, _ = normalize_batch(ds.x_test, contract)
    y_train, y_val = ds.y_train[train_idx], ds.y_train[val_idx]
    log(f"preprocessed {sum(map(len, train_sets)) + n_val + len(x_test)} images in {time.perf_counter() - t0:.0f} s")
    if cfg.teachers:
        from .distill import distillation_loss, pack_targets, teacher_targets

        targets = [pack_targets(y_train, soft) for soft in teacher_targets(cfg.teachers, contract, train_sets, log)]
    else:
        targets = [y_train] * len(train_sets)

    from .tensorflow_import import import_tensorflow

    import_tensorflow()  # TensorFlow is imported here and only here
    import keras

    from ..runtime.preprocess import to_model_input
    from .model import build_model, with_augmentation

    keras.utils.set_random_seed(cfg.seed)
    model = build_model(contract, cfg.width)
    trainer = with_augmentation(model, contract)
    # each epoch sees the plain digits plus one of the augmented renderings
    per_epoch = len(train_idx) * min(2, len(train_sets))
    steps = cfg.epochs * int(np.ceil(per_epoch / cfg.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.01)
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=distillation_loss if cfg.teachers else "sparse_categorical_crossentropy",
    )
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    xv = to_model_input(x_val, contract)
    history = []
    for epoch in range(cfg.epochs):
        t = time.perf_counter()
        picked = [0] + ([1 + epoch % (len(train_sets) - 1)] if len(train_sets) > 1 else [])
        xe = to_model_input(np.concatenate([train_sets[k] for k in picked]), contract)
        ye = np.concatenate([targets[k] for k in picked])
        fit = trainer.fit(xe, ye, batch_size=cfg.batch_size, epochs=1, shuffle=True, verbose=0)
        _, val_acc = model.evaluate(xv, y_val, batch_size=512, verbose=0)
        entry = EpochLog(epoch + 1, float(fit.history["loss"][-1]), float(val_acc), time.perf_counter() - t)
        history.append(entry)
        log(f"epoch {entry.epoch}/{cfg.epochs}  loss {entry.loss:.4f}  val {100 * entry.val_accuracy:.2f}%  {entry.seconds:.0f} s")

    _, test_acc = model.evaluate(to_model_input(x_test, contract), ds.y_test, batch_size=512, verbose=0)
    log(f"test accuracy (last epoch, {len(x_test)} images): {100 * test_acc:.2f}%")
    contract = contract.with_(extra={**contract.extra, "val_accuracy": history[-1].val_accuracy if history else None})
    save_model(model, contract, cfg.out)
    return TrainResult(str(cfg.out), history[-1].val_accuracy if history else float("nan"), float(test_acc), len(x_test), history)


def save_model(model, contract: Contract, out: str | os.PathLike) -> None:
    """Save the inference model (no optimizer state) with the contract inside the .keras zip, atomically."""
    import keras

    clean = keras.models.clone_model(model)
    clean.set_weights(model.get_weights())
    with atomic_path(out, suffix=".keras") as tmp:
        clean.save(tmp)
        with zipfile.ZipFile(tmp, "a") as z:
            z.writestr(CONTRACT_MEMBER, contract.to_json())


def read_contract(path: str | os.PathLike) -> Contract:
    """The contract stored inside a .keras file by ``save_model`` (no TensorFlow needed)."""
    from ..runtime.errors import ContractError, ModelError

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such Keras model file")
    try:
        with zipfile.ZipFile(p) as z:
            if z.getinfo(CONTRACT_MEMBER).file_size > MAX_CONTRACT_BYTES:  # a zip bomb, not a contract
                raise ContractError(f"{p}: edge-digit contract inside is implausibly large")
            return Contract.from_json(z.read(CONTRACT_MEMBER).decode())
    except KeyError:
        raise ModelError(f"{p}: no edge-digit contract inside (train it with 'edge-digit train')") from None
    except zipfile.BadZipFile:
        raise ModelError(f"{p}: not a .keras model file") from None
    except UnicodeDecodeError:
        raise ContractError(f"{p}: edge-digit contract inside is not UTF-8 text") from None
    except ContractError as exc:
        raise ContractError(exc if str(exc).startswith(f"{p}: ") else f"{p}: {exc}") from None


def load_model(path: str | os.PathLike):
    """A .keras file written by ``save_model`` -> (model, contract). Safe mode: no code from the file runs."""
    import keras

    from ..runtime.errors import ModelError

    contract = read_contract(path)
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types for corrupt files
        raise ModelError(f"{path}: cannot load Keras model ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    h, w = contract.input_size
    model(np.zeros((1, h, w, 1), np.float32))  # build the call graph the exporter needs
    return model, contract
