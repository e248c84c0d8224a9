"""`BestCheckpoint`: best/ holds the chosen latest checkpoint's files, survives the latest
folder's rotation, and keeps only one checkpoint."""
import os

import tensorflow as tf

from tfvisrec.training.checkpoints import BestCheckpoint


def test_keeps_one_checkpoint_that_outlives_the_latest_rotation(tmp_path):
    value = tf.Variable(0.0)
    ckpt = tf.train.Checkpoint(value=value)
    latest = tf.train.CheckpointManager(ckpt, str(tmp_path / "ckpt"), max_to_keep=1)
    best = BestCheckpoint(str(tmp_path / "best"))
    assert best.latest_checkpoint is None

    value.assign(1.0)
    best.keep(latest.save(checkpoint_number=1))
    value.assign(2.0)
    kept = best.keep(latest.save(checkpoint_number=2))
    value.assign(3.0)
    latest.save(checkpoint_number=3)   # rotates ckpt-2 out of ckpt/

    assert best.latest_checkpoint == kept == str(tmp_path / "best" / "ckpt-2")
    assert not os.path.exists(str(tmp_path / "ckpt" / "ckpt-2.index"))
    assert sorted(os.listdir(tmp_path / "best")) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    tf.train.Checkpoint(value=value).read(best.latest_checkpoint).assert_existing_objects_matched()
    assert float(value.numpy()) == 2.0


def _restored(prefix) -> float:
    """The value the checkpoint at `prefix` holds for a scalar variable named `value`."""
    variable = tf.Variable(0.0)
    tf.train.Checkpoint(value=variable).read(prefix).assert_existing_objects_matched()
    return float(variable.numpy())


def _keeping(value, number, ckpt_dir, best_dir) -> BestCheckpoint:
    """A BestCheckpoint in `best_dir` that kept checkpoint `number` (saved in `ckpt_dir`) of `value`."""
    latest = tf.train.CheckpointManager(tf.train.Checkpoint(value=tf.Variable(value)), ckpt_dir, max_to_keep=1)
    best = BestCheckpoint(best_dir)
    best.keep(latest.save(checkpoint_number=number))
    return best


def test_keeping_the_same_checkpoint_twice_is_harmless(tmp_path):
    value = tf.Variable(5.0)
    latest = tf.train.CheckpointManager(tf.train.Checkpoint(value=value), str(tmp_path / "ckpt"), max_to_keep=3)
    best = BestCheckpoint(str(tmp_path / "best"))
    path = latest.save(checkpoint_number=7)
    best.keep(path)
    best.keep(path)
    assert _restored(best.latest_checkpoint) == 5.0


def test_a_relative_folder_records_the_checkpoint_by_name_so_the_run_can_move(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _keeping(4.0, 3, os.path.join("run", "ckpt"), os.path.join("run", "best"))
    assert tf.train.latest_checkpoint(os.path.join("run", "best")) == os.path.join("run", "best", "ckpt-3")
    os.rename("run", "moved")
    moved = BestCheckpoint(os.path.join("moved", "best"))
    assert moved.latest_checkpoint == os.path.join("moved", "best", "ckpt-3")
    assert _restored(moved.latest_checkpoint) == 4.0


def test_a_state_file_that_points_outside_the_folder_still_finds_the_best_files(tmp_path):
    best = _keeping(6.0, 9, str(tmp_path / "ckpt"), str(tmp_path / "best"))
    # What runs trained with a relative --model_dir before the fix wrote:
    (tmp_path / "best" / "checkpoint").write_text('model_checkpoint_path: "../../../ckpt-9"\n'
                                                  'all_model_checkpoint_paths: "../../../ckpt-9"\n')
    assert tf.train.latest_checkpoint(str(tmp_path / "best")) is None
    assert best.latest_checkpoint == str(tmp_path / "best" / "ckpt-9")
    assert _restored(best.latest_checkpoint) == 6.0
    (tmp_path / "best" / "checkpoint").write_text('model_checkpoint_path: "ckpt-8"\n')
    assert best.latest_checkpoint is None
