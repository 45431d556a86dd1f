"""A tiny app that embeds the edge-digit runtime (no TensorFlow needed).

    python samples/embed_example.py samples/photos/photo-3.jpg

It classifies a file, a decoded OpenCV frame and a PIL image the same way.
"""

import sys

import cv2
from PIL import Image

from edge_digit import Classifier, EdgeDigitError


def main(path: str) -> int:
    clf = Classifier()  # the model shipped inside the package; preprocessing comes from its contract
    try:
        from_file = clf.predict(path)
    except EdgeDigitError as exc:
        print(f"cannot classify: {exc}", file=sys.stderr)
        return 1
    frame = cv2.imread(path)  # e.g. a camera frame, BGR
    from_array = clf.predict(frame)
    from_pil = clf.predict(Image.open(path))
    for name, p in (("file", from_file), ("array", from_array), ("PIL", from_pil)):
        shown = p.label if p.label is not None else f"none ({p.reason})"
        print(f"{name:6s} -> {shown}  confidence {p.confidence:.3f}  top {p.top}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "samples/photos/photo-3.jpg"))
