"""bench/attribute_pretraining.py: how often the classifier is right when it is sure of a value
(the probability SAERS' explanations carry beside each predicted value)."""
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.attribute_pretraining import when_sure  # noqa: E402


def test_when_sure_keeps_the_labelled_items_at_or_above_each_threshold():
    labels = np.array([0, 1, 2, -1, 1, 0])          # -1: unlabelled, never counted
    predicted = np.array([0, 2, 2, 1, 1, 1])
    probability = np.array([0.9, 0.6, 0.5, 0.99, 0.3, 0.8])
    got = when_sure(labels, predicted, probability, thresholds=(0.5, 0.8, 0.95))
    assert got["0.50"] == {"kept": pytest.approx(4 / 5), "accuracy": pytest.approx(2 / 4)}
    assert got["0.80"] == {"kept": pytest.approx(2 / 5), "accuracy": pytest.approx(1 / 2)}
    assert got["0.95"]["kept"] == 0.0 and math.isnan(got["0.95"]["accuracy"])
