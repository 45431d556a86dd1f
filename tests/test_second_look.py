"""The second look at unsure digits: the views, which digits get one, and the averaging."""

from __future__ import annotations

import numpy as np

from conftest import second_network
from edge_digit.runtime.second_look import VIEWS, averaged, unsure_rows, views_of


def test_views_are_turned_and_zoomed_copies_in_view_major_order(mnist_subset, classifier):
    digits = np.stack([classifier.prepare(d) for d in mnist_subset["x_test"][:3]])
    views = views_of(digits)
    assert views.shape == (len(VIEWS) * 3, 28, 28) and views.dtype == np.uint8
    for v, (angle, zoom) in enumerate(VIEWS):
        for i, digit in enumerate(digits):
            view = views[v * 3 + i]
            assert not np.array_equal(view, digit)  # changed ...
            ink = digit > 64
            assert np.mean(view[ink] > 0) > 0.7  # ... but still the same digit, in about the same place
            if zoom < 1:
                assert np.count_nonzero(view > 64) < np.count_nonzero(ink)


def test_only_unsure_rows_are_looked_at_again_and_their_answers_averaged():
    probs = np.array([[0.95, 0.05], [0.6, 0.4], [0.08, 0.92]], np.float32)
    assert unsure_rows(probs, 0.9).tolist() == [1]
    assert unsure_rows(probs, 0.0).tolist() == []
    first = probs[[1]]
    views = np.tile(np.array([[0.2, 0.8]], np.float32), (len(VIEWS), 1))
    np.testing.assert_allclose(averaged([first, views]), [[(0.6 + 0.2 * len(VIEWS)) / (1 + len(VIEWS)),
                                                           (0.4 + 0.8 * len(VIEWS)) / (1 + len(VIEWS))]], rtol=1e-6)
    # answers for several inputs stay apart: k answers of each, input-major within each block
    two = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    np.testing.assert_allclose(averaged([two, np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)]), [[0.5, 0.5], [0.0, 1.0]])


def test_classifier_looks_again_only_below_its_threshold(mnist_subset):
    """Unsure digits get the mean of ten answers: the model's for the digit and its four views,
    and the same from the second network the shipped model file carries."""
    from edge_digit import Classifier
    from edge_digit.runtime.preprocess import to_model_input

    clf = Classifier(second_look=0.0)
    digits = np.stack([clf.prepare(d) for d in mnist_subset["x_test"][:200]])
    first = clf.infer(digits)
    np.testing.assert_array_equal(clf.probabilities(digits), first)  # 0: off

    clf.second_look = 0.999
    rows = unsure_rows(first, 0.999)
    assert 0 < len(rows) < len(digits)
    again = clf.probabilities(digits)
    sure = np.setdiff1d(np.arange(len(digits)), rows)
    np.testing.assert_array_equal(again[sure], first[sure])
    second = second_network(clf.model_path)
    views = views_of(digits[rows])

    def of_second(x):
        return second.run(["probabilities"], {"image": to_model_input(x, clf.contract)})[0]

    assert not np.allclose(of_second(digits[rows]), first[rows], atol=1e-3)  # another network
    want = averaged([first[rows], clf.infer(views), of_second(digits[rows]), of_second(views)])
    np.testing.assert_allclose(again[rows], want, atol=1e-6)
    np.testing.assert_allclose(again.sum(axis=1), 1.0, atol=1e-5)
