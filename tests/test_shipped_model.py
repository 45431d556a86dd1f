"""The model shipped in the package: accuracy through the CLI, int8 beside fp32, sizes."""

import json

import numpy as np

from conftest import run_cli, second_network
from edge_digit import Classifier
from edge_digit.runtime.model_file import FP32_MODEL_NAME, INT8_MODEL_NAME, shipped_model


def test_mnist_accuracy_through_the_cli(mnist_pngs):
    folder, labels = mnist_pngs
    res = run_cli("classify", str(folder), "--format", "jsonl", "--min-confidence", "0")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    got = np.array([r["label"] for r in rows])
    accuracy = float(np.mean(got == labels))
    assert accuracy >= 0.99, accuracy  # 600 images; the full 10,000-image figure is in BENCHMARKS.md


def test_int8_agrees_with_fp32_and_is_small(mnist_subset):
    fp32 = Classifier(shipped_model(FP32_MODEL_NAME))
    int8 = Classifier(shipped_model(INT8_MODEL_NAME))
    assert int8.contract.precision == "int8" and fp32.contract.precision == "fp32"
    digits = np.stack([fp32.prepare(d) for d in mnist_subset["x_test"]])
    p32, p8 = fp32.infer(digits), int8.infer(digits)
    assert np.mean(p32.argmax(1) == p8.argmax(1)) >= 0.995
    assert len(set(p8.argmax(1).tolist())) == 10  # not a constant output
    # the int8 file is the small one: under 100 KB, without the second network the fp32 file carries
    assert shipped_model(INT8_MODEL_NAME).stat().st_size <= 100_000
    assert second_network(shipped_model(INT8_MODEL_NAME)) is None and second_network(shipped_model(FP32_MODEL_NAME))


def test_library_accepts_paths_arrays_and_pil(tmp_path, mnist_subset, classifier):
    import cv2
    from PIL import Image

    digit, label = mnist_subset["x_test"][0], int(mnist_subset["y_test"][0])
    path = tmp_path / "d.png"
    cv2.imwrite(str(path), digit)
    bgr = cv2.cvtColor(255 - digit, cv2.COLOR_GRAY2BGR)
    for image in (path, str(path), digit, bgr, Image.fromarray(digit), Image.fromarray(bgr[..., ::-1].copy())):
        p = classifier.predict(image)
        assert p.label == label and p.confidence > 0.9
    batch = classifier.predict_batch([digit, np.zeros((28, 28), np.uint8)])
    assert batch[0].label == label and batch[1].label is None and batch[1].reason == "no ink found"


def test_default_model_is_the_exact_keras_answer():
    # int8 is faster on some CPUs and slower on others (BENCHMARKS.md): the default is fp32 everywhere
    assert shipped_model().name == FP32_MODEL_NAME
    assert Classifier().contract.precision == "fp32"


def test_small_and_large_batches_give_the_same_answers(mnist_subset):
    # by default a few digits run on a one-thread session, a large batch on one with a thread per core
    from edge_digit.runtime.classifier import SMALL_BATCH
    from edge_digit.runtime.model_file import default_threads

    clf = Classifier()
    digits = np.stack([clf.prepare(d) for d in mnist_subset["x_test"][: 3 * SMALL_BATCH]])
    one_by_one = np.concatenate([clf.infer(digits[i : i + 1]) for i in range(len(digits))])
    assert clf._large_session is None  # never opened for single pictures
    together = clf.infer(digits)
    assert (clf._large_session is not None) == (default_threads() > 1)
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert not Classifier(threads=2)._grows  # threads given: that one session for every batch


def test_one_thread_sessions_run_large_batches_in_parts(mnist_subset):
    # a one-thread session (as each worker of a folder run has) runs cache-sized parts; the answers
    # are those of the whole batch at once
    from edge_digit.runtime.classifier import ONE_THREAD_PART

    clf = Classifier(threads=1)
    digits = np.stack([clf.prepare(d) for d in mnist_subset["x_test"][: 3 * ONE_THREAD_PART + 5]])
    calls = []
    run = clf.session.run

    class Counting:  # onnxruntime's session does not take new attributes: wrap it
        def run(self, names, feeds):
            calls.append(len(next(iter(feeds.values()))))
            return run(names, feeds)

    clf.session = Counting()
    parts = clf.infer(digits)
    assert calls == [ONE_THREAD_PART] * 3 + [5]
    whole = Classifier(threads=2).infer(digits)  # sessions on more threads split whole batches among them
    np.testing.assert_allclose(parts, whole, atol=1e-6)
    assert clf.with_own_session()._part == ONE_THREAD_PART
