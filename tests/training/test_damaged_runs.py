"""A damaged run folder (config.json, a checkpoint's data file) is named in one DataError
when the run is loaded for evaluation, export or explanation, not met with a traceback."""
import dataclasses
import glob
import os

import pytest

from tfvisrec.config import TrainConfig
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.training import checkpoints, fit


@pytest.fixture
def run(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "run")
    fit(registry.new_config("bprmf", embedding_dim=4),
        dataclasses.replace(TrainConfig(), dataset=low_rank_dataset, model_dir=model_dir, epochs=2,
                            batch_size=64, verbose=0))
    return model_dir


@pytest.mark.parametrize("text", ['{"model": ', '["bprmf"]', '{"model": {"seed": 1}, "train": {}}'])
def test_an_unreadable_config_is_named(run, text):
    with open(os.path.join(run, "config.json"), "w") as f:
        f.write(text)
    with pytest.raises(DataError, match="config.json: unreadable run configuration"):
        checkpoints.load_trained(run)


@pytest.mark.parametrize("which", ["best", "latest"])
def test_a_cut_checkpoint_is_named(run, which):
    folder = checkpoints.BEST_DIR if which == "best" else checkpoints.LATEST_DIR
    path = checkpoints.checkpoint_in(os.path.join(run, folder)) if which == "best" else None
    for data in glob.glob(os.path.join(run, folder, "*.data-*")):
        with open(data, "r+b") as f:
            f.truncate(os.path.getsize(data) // 3)
    with pytest.raises(DataError, match="does not read back whole .*damaged"):
        checkpoints.load_trained(run, which=which)
    assert path is None or os.path.exists(path + ".index")


def test_another_dataset_is_named_when_the_checkpoint_does_not_fit_it(run, tmp_path):
    from tiny_worlds import write_low_rank_dataset
    other = write_low_rank_dataset(str(tmp_path / "other"), num_items=25)
    with pytest.raises(DataError, match=r"the run was trained on .* has \d+ users and 25 items"):
        checkpoints.load_trained(run, dataset_dir=other)


def test_a_dataset_without_purchases_is_refused_before_building(tmp_path):
    """A catalogue of labelled photos (no shoppers) given to a recommender."""
    import numpy as np
    from tfvisrec.data import dataset as dataset_io
    empty = dataset_io.Split(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    folder = dataset_io.write_dataset(
        str(tmp_path / "catalogue"), {"name": "catalogue"}, [], ["a", "b"], {s: empty for s in ("train", "valid", "test")},
        dataset_io.item_table(2, np.zeros(0, np.int64)))
    with pytest.raises(DataError, match="catalogue: has no shoppers' purchases .*bprmf learns from them"):
        fit(registry.new_config("bprmf"), dataclasses.replace(TrainConfig(), dataset=folder,
                                                             model_dir=str(tmp_path / "run"), verbose=0))
    assert not (tmp_path / "run").exists()
