"""Importing TensorFlow without its C++ start-up notes on the terminal.

On import TensorFlow writes straight to file descriptor 2, before any setting can stop it: that
absl logging is not set up yet, notes that oneDNN is on, that no CUDA driver was found (on every
machine without a GPU). Those lines are set aside; anything else written meanwhile (a Python
warning, an error) is passed on. TF_CPP_MIN_LOG_LEVEL, unless the user set it, keeps its later
C++ logging to fatal errors (a failed cuInit is logged as an error on a machine without a GPU).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings

# a C++ log line (severity, date, time, thread, file:line]) and absl's notice before its set-up
_NOTE = re.compile(rb"^([IWE]\d{4} [\d:.]+ +\d+ [^\]]+\] |WARNING: All log messages before absl::InitializeLog\(\))")


def import_tensorflow() -> None:
    if not os.environ.get("TF_CPP_MIN_LOG_LEVEL"):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # Keras' notes on its own use of numpy (np.object in its ONNX export) say nothing about this project
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"keras(\.|$)")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as notes:
        os.dup2(notes.fileno(), 2)
        try:
            import keras  # noqa: F401  (imports TensorFlow, its backend)
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            notes.seek(0)
            rest = b"".join(line for line in notes if not _NOTE.match(line))
            if rest:
                sys.stderr.buffer.write(rest)
                sys.stderr.flush()
