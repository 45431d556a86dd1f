"""The Keras reference: ``model.predict`` per image (the tutorials' way) and in batches, on the
very model inputs the ONNX models saw, in a subprocess so TensorFlow's threads and import cost
stay out of the other figures (and out of this process: the runtime never imports TensorFlow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .results import KerasReference, Timing


_KERAS_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
t0 = time.perf_counter()
import numpy as np
import tensorflow as tf
import keras
t_import = time.perf_counter() - t0
model_path, x_path, n_single, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = np.load(x_path)
model = keras.models.load_model(model_path, compile=False)
for i in range(warmup):
    model.predict(x[i % len(x)][None], verbose=0)
single = []
for i in range(n_single):
    t = time.perf_counter()
    model.predict(x[i % len(x)][None], verbose=0)
    single.append(time.perf_counter() - t)
model.predict(x[:256], batch_size=256, verbose=0)
t = time.perf_counter()
probs = model.predict(x, batch_size=256, verbose=0)
batch_s = time.perf_counter() - t
np.save(x_path + ".labels.npy", np.argmax(probs, axis=1))
print(json.dumps({"import_s": t_import, "single": single, "batch_s": batch_s, "n": len(x)}))
"""


def run_keras(keras_model: str | os.PathLike | None, model_inputs: np.ndarray, onnx_labels: np.ndarray | None,
              labels: np.ndarray | None, *, single: int, warmup: int, timeout: float = 900) -> KerasReference:
    """``model.predict`` per image and in batches, on the very model inputs the ONNX models saw."""
    import importlib.util

    if keras_model is None:
        return KerasReference(False, "no Keras model given (--keras PATH); reference skipped")
    if not Path(keras_model).is_file():
        return KerasReference(False, f"{keras_model}: no such Keras model; reference skipped")
    if importlib.util.find_spec("tensorflow") is None:
        return KerasReference(False, "TensorFlow is not installed (the train extra); reference skipped")
    with tempfile.TemporaryDirectory(prefix="edge-digit-keras-") as tmp:
        x_path = os.path.join(tmp, "x.npy")
        np.save(x_path, model_inputs)
        try:
            proc = subprocess.run([sys.executable, "-c", _KERAS_SCRIPT, str(keras_model), x_path, str(single), str(warmup)],
                                  capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        except subprocess.TimeoutExpired:
            return KerasReference(False, f"Keras reference did not finish in {timeout:.0f} s", str(keras_model))
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]
            return KerasReference(False, f"Keras reference failed: {last}", str(keras_model))
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        k_labels = np.load(x_path + ".labels.npy")
    per = Timing.of(res["single"])
    return KerasReference(
        True, "model.predict in a separate process (TensorFlow threads and import kept out of the other figures)",
        str(keras_model), round(res["import_s"], 3), per, round(1e6 / per.p50_us, 1), round(res["n"] / res["batch_s"], 1),
        None if onnx_labels is None else round(float(np.mean(k_labels == onnx_labels)), 5),
        None if labels is None else round(float(np.mean(k_labels == labels)), 5))
