"""Shared fixtures. Fast unit tests need only the runtime; tests marked ``parity`` run
TensorFlow for real and are part of the default run; ``slow`` ones are opt-in (-m slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SUBSET = REPO / "tests" / "data" / "mnist-subset.npz"
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist_subset() -> dict[str, np.ndarray]:
    with np.load(SUBSET) as d:
        return {k: d[k] for k in d.files}


@pytest.fixture(scope="session")
def contract():
    from edge_digit.runtime.contract import Contract

    return Contract()


@pytest.fixture(scope="session")
def classifier():
    from edge_digit import Classifier

    return Classifier()


@pytest.fixture(scope="session")
def mnist_pngs(tmp_path_factory, mnist_subset) -> tuple[Path, np.ndarray]:
    """The subset's 600 test digits written as PNG files; returns (folder, labels)."""
    import cv2

    folder = tmp_path_factory.mktemp("mnist-png")
    for i, img in enumerate(mnist_subset["x_test"]):
        cv2.imwrite(str(folder / f"{i:04d}.png"), img)
    return folder, mnist_subset["y_test"]


def run_cli(*args: str, input: str | None = None, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `edge-digit` entry point as a user would (``env``: variables to change)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "edge_digit.cli", *args], capture_output=True, text=True,
                          input=input, cwd=cwd or REPO, env=env, timeout=600)


def second_network(model_path):
    """The second network a model file carries (an onnxruntime session; None if it carries none),
    opened straight from its metadata, apart from the runtime's own loading."""
    import base64

    import onnxruntime as ort

    from edge_digit.runtime.contract import SECOND_OPINION_KEY

    meta = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    if SECOND_OPINION_KEY not in meta:
        return None
    return ort.InferenceSession(base64.b64decode(meta[SECOND_OPINION_KEY]), providers=["CPUExecutionProvider"])
