"""The runtime and the CLI entry point import without TensorFlow, Keras or tf2onnx."""

import subprocess
import sys

from conftest import REPO

HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx")


def test_runtime_and_cli_load_no_training_framework():
    code = (
        "import sys, edge_digit, edge_digit.runtime, edge_digit.cli\n"
        "from edge_digit import Classifier, classify_files, read_number\n"
        "clf = Classifier()\n"
        "clf.predict(__import__('numpy').zeros((28, 28), 'uint8'))\n"
        "read_number(clf, 'samples/photos/photo-7.jpg')\n"
        "list(classify_files(clf, ['samples/mnist']))\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "", f"runtime imported: {out.stdout.strip()}"
