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


def test_the_command_line_refuses_a_checkpoint_of_other_settings_in_one_line(low_rank_dataset, tmp_path):
    """No warning before it (of settings the refused run would record) nor after it (TensorFlow's
    of the refused checkpoint's unrestored values, as it is collected)."""
    import subprocess
    from cli_runs import run, train_command
    model_dir = str(tmp_path / "run")
    run(train_command(low_rank_dataset, model_dir, "--epochs=1"))
    refused = subprocess.run(train_command(low_rank_dataset, model_dir, "--epochs=2", "--embedding_dim=8"),
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        line for line in refused.stderr.strip().splitlines() if line.startswith("error: ")], refused.stderr
    assert "does not fit bprmf as configured" in refused.stderr
