"""A checkpoint the disk has no room for stops training with one OSError line naming it (the
command line prints `error: …`, status 2) instead of TensorFlow's traceback; its partial files
go, the checkpoints before it stay, and the same command resumes once there is room."""
import os

import pytest
import tensorflow as tf

from tfvisrec import config as config_lib
from tfvisrec.models import registry
from tfvisrec.training import checkpoints, fit


def _configs(model_dir, dataset, **train):
    return (registry.new_config("bprmf", embedding_dim=4),
            config_lib.TrainConfig(dataset=dataset, model_dir=str(model_dir), epochs=2, batch_size=32,
                                   checkpoint_every=5, verbose=0, patience=0, **train))


def test_a_full_disk_stops_training_with_one_line_and_the_run_resumes(low_rank_dataset, tmp_path, monkeypatch):
    save = tf.train.CheckpointManager.save

    def full_from_step_10(manager, checkpoint_number=None, **kwargs):
        if checkpoint_number >= 10:   # what TF's SaveV2 raises, its shard half-written
            temp = os.path.join(manager.directory, f"ckpt-{checkpoint_number}_temp")
            os.makedirs(temp, exist_ok=True)
            open(os.path.join(temp, "part-00000-of-00001.data-00000-of-00001.tempstate1"), "wb").close()
            raise tf.errors.ResourceExhaustedError(
                None, None, "{{function_node __wrapped__SaveV2}} " + temp + "/part-00000-of-00001"
                ".data-00000-of-00001.tempstate1; No space left on device [Op:SaveV2]")
        return save(manager, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full_from_step_10)
    ckpt_dir = tmp_path / "run" / checkpoints.LATEST_DIR
    with pytest.raises(OSError) as raised:
        fit(*_configs(tmp_path / "run", low_rank_dataset))
    message = str(raised.value)
    assert "\n" not in message and message.startswith(
        f"cannot write the checkpoint {ckpt_dir / 'ckpt-10'} (No space left on device): make room")
    assert sorted(os.listdir(ckpt_dir)) == ["checkpoint", "ckpt-5.data-00000-of-00001", "ckpt-5.index"]
    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)   # room again
    _, summary = fit(*_configs(tmp_path / "run", low_rank_dataset))
    assert summary["resumed_from_step"] == 5 and summary["steps"] == 24
