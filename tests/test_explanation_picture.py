"""The explanation picture draws with or without the classifier's probabilities (a regions.npz
written before they were kept gives None for each), and with or without a heat map."""
import io

import numpy as np
import pytest
from PIL import Image

from tfvisrec.explanation_picture import explanation_png


def _record(class_probabilities):
    record = {"attributes": ["colour", "sleeve"], "weights": [0.3, 0.7], "classes": ["red", "long"],
              "boxes": [[0.1, 0.1, 0.9, 0.9], [0.2, 0.0, 0.6, 0.4]], "top_attribute": "sleeve", "score": 1.5}
    if class_probabilities != "absent":
        record["class_probabilities"] = class_probabilities
    return record


@pytest.mark.parametrize("class_probabilities", [[0.95, 0.11], [None, None], "absent"])
@pytest.mark.parametrize("heat_map", [None, np.eye(4)])
def test_the_picture_draws_known_and_unknown_probabilities(class_probabilities, heat_map):
    photo = np.full((64, 64, 3), 200, np.uint8)
    png = explanation_png(photo, _record(class_probabilities), heat_map, "why")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1] > 300
