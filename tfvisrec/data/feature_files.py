"""Names of the precomputed-feature files a dataset folder may hold (written by
`python -m tfvisrec.vision.features`), importable without TensorFlow or flags, and the check
that they are one run's.

A run writes its files one by one into a folder that holds other files (the dataset's), so
they cannot appear together by one rename. Instead it writes `INCOMPLETE_FILE` beside them
first and removes it after the last: while it is there (the run is writing, or was killed or
failed midway), the folder may hold some files of this run and some of an earlier one (another
classifier's), and readers refuse them (`require_one_run`).
"""
import os

from tfvisrec.data.errors import DataError

FEATURES_FILE = "features.npy"         # f_i [items, F]: the backbone's penultimate features
PROBS_FILE = "attribute_probs.npz"     # the attribute classifier's class probabilities per item
INFO_FILE = "features.json"            # what made them (weights, backbone, attribute vocabularies)
REGIONS_FILE = "regions.npz"           # SAERS' attribute regions per item (features, boxes, classes)
FEATURE_MAPS_FILE = "feature_maps.npz"  # `maps` [items, H, W, C]: a CNN's last convolutional maps (outfit models)
INCOMPLETE_FILE = "features.incomplete"  # there while a run writes the files above (see the module docstring)
RUN_LOCK_FILE = ".features.lock"        # flocked by the run writing them: a second run waits for it


def require_one_run(path: str) -> None:
    """DataError naming `path` when the folder holding it has `INCOMPLETE_FILE`: the feature
    files there may come from two runs of `python -m tfvisrec.vision.features`."""
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(path)), INCOMPLETE_FILE)):
        raise DataError(f"a `python -m tfvisrec.vision.features` run writing here did not finish (or is still "
                        f"running: {INCOMPLETE_FILE} is there), so its feature files may be a mix of two runs; "
                        "run it again", path)
