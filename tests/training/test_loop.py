"""The shared training loop: learning, exact resume, early stopping, stages, checkpoints."""
import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec import config as config_lib
from tfvisrec.models import registry
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.models.mf import BPRMF, MFConfig
from tfvisrec.models.registry import register
from tfvisrec.training import checkpoints, describe_best, fit


def _configs(model_dir, dataset, **train):
    model = registry.new_config("bprmf", embedding_dim=4, l2_user=0.001, l2_item=0.001)
    defaults = dict(dataset=dataset, model_dir=str(model_dir), epochs=4, batch_size=32,
                    learning_rate=0.05, checkpoint_every=5, verbose=0, patience=0)
    defaults.update(train)
    return model, config_lib.TrainConfig(**defaults)


def _weights(model):
    return [v.numpy() for v in model.trainable_variables]


def test_fit_learns_and_writes_run_folder(low_rank_dataset, tmp_path):
    model_config, train_config = _configs(tmp_path / "run", low_rank_dataset, epochs=15)
    model, summary = fit(model_config, train_config)
    assert summary["steps"] == 15 * 12 and summary["epochs_completed"] == 15
    losses = [h["loss"] for h in summary["history"]]
    assert losses[-1] < 0.8 * losses[0]
    assert summary["best_validation"] > 0.7
    for name in ("config.json", "summary.json", "ckpt", "best", "logs"):
        assert os.path.exists(tmp_path / "run" / name), name
    with open(tmp_path / "run" / "summary.json") as f:
        assert json.load(f)["best_epoch"] == summary["best_epoch"]
    # the printed epoch counts from 1, as the progress line does
    best_number = 1 + int(np.argmax([h["validation"] for h in summary["history"]]))
    assert describe_best(summary) == f"auc {summary['best_validation']:.4f} (epoch {best_number} of 15)"
    assert describe_best(dict(summary, best_epoch=-1)) == "auc: never validated"


def test_resume_mid_epoch_continues_exactly(low_rank_dataset, tmp_path):
    straight, _ = fit(*_configs(tmp_path / "a", low_rank_dataset, epochs=2, resume=False))
    _, first = fit(*_configs(tmp_path / "b", low_rank_dataset, epochs=2, max_steps=7))
    assert first["steps"] == 7
    resumed, second = fit(*_configs(tmp_path / "b", low_rank_dataset, epochs=2))
    assert second["resumed_from_step"] == 7 and second["steps"] == 24
    for a, b in zip(_weights(straight), _weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_resumed_run_keeps_its_earlier_epochs_and_names_changed_settings(low_rank_dataset, tmp_path, caplog):
    run = tmp_path / "run"
    _, first = fit(*_configs(run, low_rank_dataset, epochs=2))
    assert [h["epoch"] for h in first["history"]] == [0, 1]
    with caplog.at_level("WARNING"):
        _, longer = fit(*_configs(run, low_rank_dataset, epochs=3, learning_rate=0.1))
    assert [h["epoch"] for h in longer["history"]] == [0, 1, 2]
    assert longer["history"][:2] == first["history"]
    assert longer["train_seconds"] >= first["train_seconds"]
    assert "train.learning_rate: 0.05 → 0.1" in caplog.text and "train.epochs: 2 → 3" in caplog.text
    assert json.load(open(run / "config.json"))["train"]["learning_rate"] == 0.1
    caplog.clear()
    with caplog.at_level("WARNING"):   # the same command again: nothing to train, nothing lost
        _, again = fit(*_configs(run, low_rank_dataset, epochs=3, learning_rate=0.1))
    assert again["history"] == longer["history"] and again["train_seconds"] >= longer["train_seconds"]
    assert "resuming with settings" not in caplog.text
    assert json.load(open(run / "summary.json"))["history"] == longer["history"]


def test_a_call_killed_mid_run_leaves_the_summary_of_its_finished_epochs(low_rank_dataset, tmp_path, monkeypatch):
    run = tmp_path / "run"
    end_epoch = BPRMF.end_epoch

    def killed_in_the_third_epoch(model, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return end_epoch(model, epoch)
    monkeypatch.setattr(BPRMF, "end_epoch", killed_in_the_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        fit(*_configs(run, low_rank_dataset, epochs=4))
    killed = json.load(open(run / "summary.json"))
    assert [h["epoch"] for h in killed["history"]] == [0, 1] and killed["epochs_completed"] == 2
    monkeypatch.setattr(BPRMF, "end_epoch", end_epoch)
    _, resumed = fit(*_configs(run, low_rank_dataset, epochs=4))
    assert [h["epoch"] for h in resumed["history"]] == [0, 1, 2, 3]
    assert resumed["history"][:2] == killed["history"]
    assert resumed["train_seconds"] >= killed["train_seconds"]


def _saved_numbers(monkeypatch):
    """Every checkpoint number the runs of the test save, in order."""
    numbers, save = [], tf.train.CheckpointManager.save

    def recording_save(manager, checkpoint_number=None, **kwargs):
        numbers.append(int(checkpoint_number))
        return save(manager, checkpoint_number=checkpoint_number, **kwargs)
    monkeypatch.setattr(tf.train.CheckpointManager, "save", recording_save)
    return numbers


def test_no_checkpoint_number_is_saved_twice(low_rank_dataset, tmp_path, monkeypatch):
    # TF rewrites a checkpoint saved again under its number in place (the same .index file), so
    # a run killed meanwhile would leave its latest checkpoint truncated. 12 steps an epoch: the
    # periodic saves at 6, 12, 18 meet an epoch's end (12) and the end of --max_steps (18).
    numbers = _saved_numbers(monkeypatch)
    fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=2, checkpoint_every=6, max_steps=18))
    assert numbers == [6, 12, 18]
    fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=2, checkpoint_every=6))
    assert numbers == [6, 12, 18, 24]
    pop = config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / "pop"), verbose=0)
    fit(registry.new_config("poprank"), pop)
    _, again = fit(registry.new_config("poprank"), pop)   # a finished run is not saved again
    assert numbers == [6, 12, 18, 24, 0] and again["resumed_from_step"] == 0


def test_resume_passes_over_a_truncated_latest_checkpoint(low_rank_dataset, tmp_path, capsys):
    fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=2))   # keeps ckpt-15, -20, -24
    ckpt_dir = tmp_path / "run" / checkpoints.LATEST_DIR
    index = ckpt_dir / "ckpt-24.index"
    index.write_bytes(index.read_bytes()[:20])   # what a kill in the middle of the write leaves
    _, summary = fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=3))
    assert summary["resumed_from_step"] == 20 and summary["steps"] == 36
    assert "ckpt-24 does not read back" in capsys.readouterr().err
    for name in ("ckpt-30.index", "ckpt-36.index"):
        index = ckpt_dir / name
        index.write_bytes(index.read_bytes()[:20])
    (ckpt_dir / "ckpt-35.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(DataError, match=r"none of the checkpoints \(ckpt-30, ckpt-35, ckpt-36\) reads back"):
        fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=4))


def test_a_save_killed_midway_leaves_no_shard_behind_once_the_run_resumes(low_rank_dataset, tmp_path):
    fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=1))
    ckpt_dir = tmp_path / "run" / checkpoints.LATEST_DIR
    temp = ckpt_dir / "ckpt-10_temp"   # what a kill during TF's save of ckpt-10 leaves
    temp.mkdir()
    (temp / "part-00000-of-00001.data-00000-of-00001.tempstate6651096516576901953").write_bytes(b"x" * 100)
    _, summary = fit(*_configs(tmp_path / "run", low_rank_dataset, epochs=2))
    assert summary["resumed_from_step"] == 12
    assert not temp.exists() and not list(ckpt_dir.glob("*_temp"))


def test_early_stopping_and_best_checkpoint(low_rank_dataset, tmp_path):
    # A huge learning rate makes validation AUC stall, so patience 1 stops training early.
    model_config, train_config = _configs(tmp_path / "run", low_rank_dataset, epochs=30,
                                          patience=1, learning_rate=5.0)
    model, summary = fit(model_config, train_config)
    assert summary["stopped_early"] and summary["epochs_completed"] < 30
    best_path = tf.train.latest_checkpoint(str(tmp_path / "run" / checkpoints.BEST_DIR))
    assert best_path is not None
    loaded, dataset = checkpoints.load_trained(str(tmp_path / "run"), which="best")
    for a, b in zip(_weights(model), _weights(loaded)):
        np.testing.assert_allclose(a, b)
    assert dataset.num_users == load_dataset(low_rank_dataset).num_users
    _, again = fit(model_config, train_config)   # resuming a run that stopped trains nothing more
    assert (again["steps"], again["epochs_completed"]) == (summary["steps"], summary["epochs_completed"])


def test_a_relative_model_dir_ends_on_its_best_checkpoint_not_its_last(low_rank_dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model_config, train_config = _configs("run", low_rank_dataset, epochs=30, patience=1, learning_rate=5.0)
    model, summary = fit(model_config, train_config)
    assert summary["best_epoch"] < summary["epochs_completed"] - 1   # the last epoch was not the best
    best, _ = checkpoints.load_trained("run", which="best")
    last, _ = checkpoints.load_trained("run", which="latest")
    for a, b in zip(_weights(model), _weights(best)):
        np.testing.assert_allclose(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(_weights(best), _weights(last)))


def test_non_gradient_model_is_fitted_by_prepare(low_rank_dataset, tmp_path):
    model_config = registry.new_config("poprank")
    train_config = config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / "pop"), verbose=0)
    _, summary = fit(model_config, train_config)
    assert summary["steps"] == 0 and 0.0 <= summary["best_validation"] <= 1.0


@dataclasses.dataclass
class StagedConfig(MFConfig):
    stage1_epochs: int = config_lib.field(0, "Epochs of the first stage at most.")


@register("test_staged_bprmf")
class StagedBPRMF(BPRMF):
    """BPR-MF with two stages, as ImgRec-EtE has: the first before `stage1_epochs` (or until
    the trainer ends it), the second trains nothing (learning-rate scale 0), so the weights it
    starts from are the weights training ends with."""

    num_stages = 2
    config_class = StagedConfig

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stage = 0
        self.stage_of_epoch = {}
        self.stage2_start = None

    @property
    def learning_rate_scale(self):
        return 1.0 if self.stage == 0 else 0.0

    @property
    def stage(self):
        return self._stage

    def begin_epoch(self, epoch, min_stage=0):
        stage = 0 if min_stage < 1 and epoch < self.config.stage1_epochs else 1
        changed, self._stage = stage != self._stage, stage
        self.stage_of_epoch[int(epoch)] = stage
        if changed and stage == 1:
            self.stage2_start = _weights(self)
        return changed


def test_patience_ends_the_first_stage_and_the_second_starts_from_the_best_weights(
        low_rank_dataset, tmp_path):
    # A huge learning rate makes validation AUC stall, so patience 1 ends stage 1 early.
    model_config, train_config = _configs(tmp_path / "run", low_rank_dataset, epochs=30,
                                          patience=1, learning_rate=5.0)
    model_config = registry.new_config("test_staged_bprmf", **{
        **dataclasses.asdict(model_config), "stage1_epochs": 20})
    model, summary = fit(model_config, train_config)
    stages = [model.stage_of_epoch[e] for e in range(summary["epochs_completed"])]
    switch = stages.index(1)
    assert 0 < switch < 20 and stages == [0] * switch + [1] * (len(stages) - switch), stages
    assert summary["stopped_early"] and summary["best_epoch"] < switch - 1   # stage 1 went past its best
    loaded, _ = checkpoints.load_trained(str(tmp_path / "run"), which="best")
    for start, best, final in zip(model.stage2_start, _weights(loaded), _weights(model)):
        np.testing.assert_allclose(start, best)
        np.testing.assert_allclose(final, best)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "run" / checkpoints.LATEST_DIR)))
    assert reader.get_tensor("state/min_stage/.ATTRIBUTES/VARIABLE_VALUE") == 1


def test_a_nan_validation_is_never_kept_over_a_number(low_rank_dataset, tmp_path, monkeypatch):
    # A diverged first epoch (NaN validation: the metrics never count NaN as a score) is the
    # best only until a number comes: NaN compares false with everything, so it stayed.
    scores = iter([float("nan"), 0.6, 0.7, 0.65])
    monkeypatch.setattr(BPRMF, "validation_score", lambda self, dataset: next(scores))
    model_config, train_config = _configs(tmp_path / "run", low_rank_dataset, epochs=4)
    _, summary = fit(model_config, train_config)
    validation = np.array([h["validation"] for h in summary["history"]], np.float64)
    expected = int(np.nanargmax(validation))   # numpy reference: the best non-NaN epoch
    assert (summary["best_epoch"], summary["best_validation"]) == (expected, 0.7) == (2, 0.7)


@pytest.mark.parametrize("scores, reads", [([0.6, 0.7], 0), ([0.7, 0.6], 1), (None, 0)])
def test_the_best_checkpoint_is_read_back_only_when_later_weights_replaced_it(
        low_rank_dataset, tmp_path, monkeypatch, scores, reads):
    """A run whose last checkpoint is its best ends on the weights it has (reading them back held
    every weight twice meanwhile); otherwise on those it reads back. Either way: the best's numbers.
    scores None: a model fitted by `prepare` (PopRank), validated once."""
    read = []
    real_read = tf.train.Checkpoint.read
    monkeypatch.setattr(tf.train.Checkpoint, "read", lambda self, path, **kw: read.append(path) or real_read(self, path, **kw))
    if scores is None:
        model_config = registry.new_config("poprank")
        train_config = config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / "run"), verbose=0)
    else:
        validations = iter(scores)
        monkeypatch.setattr(BPRMF, "validation_score", lambda self, dataset: next(validations))
        model_config, train_config = _configs(tmp_path / "run", low_rank_dataset, epochs=len(scores))
    model, summary = fit(model_config, train_config)
    assert len(read) == reads, read
    best, _ = checkpoints.load_trained(str(tmp_path / "run"), which="best")
    assert model.weights and len(model.weights) == len(best.weights)
    for a, b in zip(model.weights, best.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
