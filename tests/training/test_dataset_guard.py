"""A run is tied to the data it trained on: a dataset ingested again with other ids or another
split (the same shape, so the checkpoint still loads) is refused, not served silently."""
import dataclasses
import shutil

import pytest

from tfvisrec.config import TrainConfig
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.training import checkpoints, fit


def _train(dataset, model_dir, **settings):
    fit(registry.new_config("bprmf", embedding_dim=4),
        dataclasses.replace(TrainConfig(), **{"dataset": dataset, "model_dir": model_dir, "epochs": 1,
                                              "batch_size": 64, "verbose": 0, **settings}))


def test_a_dataset_ingested_again_with_another_split_is_refused(tmp_path):
    from tiny_worlds import write_low_rank_dataset
    dataset, model_dir = str(tmp_path / "data"), str(tmp_path / "run")
    write_low_rank_dataset(dataset, seed=0)
    _train(dataset, model_dir)
    copy = shutil.copytree(dataset, tmp_path / "copy")
    checkpoints.load_trained(model_dir, dataset_dir=str(copy))        # the same data elsewhere: fine
    shutil.rmtree(dataset)
    write_low_rank_dataset(dataset, seed=1)                            # 60 × 40 again, other purchases
    with pytest.raises(DataError, match=r"data/?: the run in .*run was trained on other data than the "
                                        r"dataset here .*ingested again since\?\); train again on it"):
        checkpoints.load_trained(model_dir)
    with pytest.raises(DataError, match=r"trained on other data .* train in another --model_dir, or "
                                        r"start over here with --noresume"):
        _train(dataset, model_dir, epochs=2)
    _train(dataset, model_dir, resume=False)                 # starting over is allowed
    checkpoints.load_trained(model_dir)


def test_a_dataset_ingested_again_with_other_items_is_named_in_one_message(tmp_path):
    """The checkpoint no longer fits: evaluate says why in its one line, and TensorFlow's
    warnings about the values it did not restore (17 lines after the `error:` line) are not
    printed."""
    import os
    import subprocess
    import sys
    from tiny_worlds import write_low_rank_dataset
    dataset, model_dir = str(tmp_path / "data"), str(tmp_path / "run")
    write_low_rank_dataset(dataset)
    _train(dataset, model_dir)
    shutil.rmtree(dataset)
    write_low_rank_dataset(dataset, num_items=41)
    with pytest.raises(DataError, match=r"does not fit the model .*; .*data was ingested again since "
                                        r"training, with other users or items: train again on it"):
        checkpoints.load_trained(model_dir)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-m", "tfvisrec.evaluate", f"--model_dir={model_dir}"],
                          capture_output=True, text=True, timeout=300, cwd=repo,
                          env=dict(os.environ, PYTHONPATH=repo))
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ingested again since training" in lines[0], done.stderr[-3000:]
