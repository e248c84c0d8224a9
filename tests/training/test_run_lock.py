"""Two trainings in one --model_dir: the second is refused, before it reads or writes there,
instead of saving its checkpoints between the first one's."""
import dataclasses
import os
import subprocess
import sys

import pytest

from tfvisrec.config import TrainConfig
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.training import fit

# another process holds the folder's lock until its stdin closes, as a running training would
HOLD = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()")


def _train(dataset, model_dir, model="bprmf"):
    return fit(registry.new_config(model, embedding_dim=4),
               dataclasses.replace(TrainConfig(), dataset=dataset, model_dir=model_dir, epochs=1,
                                   batch_size=64, verbose=0))


def test_a_second_training_in_a_running_models_folder_is_refused(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "run")
    _train(low_rank_dataset, model_dir)
    before = {name: os.path.getmtime(os.path.join(model_dir, name)) for name in os.listdir(model_dir)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, model_dir], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DataError, match=r"run: another training is running in this --model_dir"):
            _train(low_rank_dataset, model_dir)
        after = {name: os.path.getmtime(os.path.join(model_dir, name)) for name in os.listdir(model_dir)}
        assert after == before   # nothing read into or written over
    finally:
        holder.stdin.close()
        holder.wait()
    _, summary = _train(low_rank_dataset, model_dir)   # the folder is free again: it resumes
    assert summary["resumed_from_step"] is not None


def test_a_training_that_fails_first_leaves_no_empty_folder(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "run")
    with pytest.raises(DataError, match="precomputed item features"):
        _train(low_rank_dataset, model_dir, model="vbpr")   # a dataset without features
    assert not os.path.exists(model_dir)
