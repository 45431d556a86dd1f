"""The command line the accuracy benchmarks share: where the MNIST file is (its test digits are
what they write), and how many pictures to make per row."""

from __future__ import annotations

import argparse

import numpy as np


def parse(doc: str, count: int, per: str = "pictures per row") -> tuple[dict[str, np.ndarray], int]:
    """Parse ``--data`` and ``--count`` (default ``count``) for a benchmark whose docstring is
    ``doc``: the MNIST test digits and labels (``x_test``, ``y_test``), and the count."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/mnist.npz")
    ap.add_argument("--count", type=int, default=count, help=per)
    args = ap.parse_args()
    with np.load(args.data) as d:
        return {"x_test": d["x_test"], "y_test": d["y_test"]}, args.count
