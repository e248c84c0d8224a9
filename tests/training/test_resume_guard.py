"""Resuming in a run folder of another model, or of other settings, stops with one clear
error naming the folder, and leaves the run as it was."""
import dataclasses
import json
import os

import pytest

from tfvisrec.config import TrainConfig
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.training import fit


def _train(model, dataset, model_dir, **settings):
    return fit(registry.new_config(model, **settings),
               dataclasses.replace(TrainConfig(), dataset=dataset, model_dir=model_dir, epochs=1,
                                   batch_size=64, verbose=0))


def test_another_models_run_is_not_resumed(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "run")
    _train("bprmf", low_rank_dataset, model_dir, embedding_dim=4)
    with open(os.path.join(model_dir, "config.json")) as f:
        before = f.read()
    with pytest.raises(DataError, match="holds a bprmf run, not mmmf: train mmmf in another --model_dir"):
        _train("mmmf", low_rank_dataset, model_dir, embedding_dim=4)
    with pytest.raises(DataError, match="does not fit bprmf as configured .*config.json"):
        _train("bprmf", low_rank_dataset, model_dir, embedding_dim=8)
    with open(os.path.join(model_dir, "config.json")) as f:
        assert f.read() == before and json.loads(before)["model"]["embedding_dim"] == 4
    _, summary = _train("bprmf", low_rank_dataset, model_dir, embedding_dim=4)   # the same run resumes
    assert summary["resumed_from_step"] > 0


def test_a_garbled_checkpoint_state_file_resumes_from_the_newest_checkpoint_file(low_rank_dataset, tmp_path, capfd):
    model_dir = str(tmp_path / "run")
    _, first = _train("bprmf", low_rank_dataset, model_dir, embedding_dim=4)
    with open(os.path.join(model_dir, "ckpt", "checkpoint"), "w") as f:
        f.write("\x00garbage{{")
    _, again = fit(registry.new_config("bprmf", embedding_dim=4),
                   dataclasses.replace(TrainConfig(), dataset=low_rank_dataset, model_dir=model_dir, epochs=2,
                                       batch_size=64, verbose=0))
    assert again["resumed_from_step"] == first["steps"] and again["epochs_completed"] == 2
    assert "lists no checkpoint" in capfd.readouterr().err
