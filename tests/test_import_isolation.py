"""The runtime and the CLI entry point import without TensorFlow, Keras or tf2onnx."""

import subprocess
import sys

HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx")


def test_runtime_and_cli_load_no_training_framework():
    code = (
        "import sys, edge_digit, edge_digit.runtime, edge_digit.cli\n"
        "from edge_digit import Classifier\n"
        "Classifier().predict(__import__('numpy').zeros((28, 28), 'uint8'))\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"runtime imported: {out.stdout.strip()}"
