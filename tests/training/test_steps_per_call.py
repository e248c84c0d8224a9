"""Steps per train call: a Ctrl-C is answered only between calls, so a model that runs a CNN on
every batch (about a second a step) trains one step a call unless --steps_per_loop says more."""
import pytest

from tfvisrec import config as config_lib
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.mf import BPRMF
from tfvisrec.training import fit, loop


@pytest.mark.parametrize("runs_cnn, steps_per_loop, largest_call", [
    (False, 0, 12),   # 20 by default, cut at the epoch's end (12 batches)
    (True, 0, 1),
    (True, 5, 5),     # asked for: kept
])
def test_steps_per_call(low_rank_dataset, tmp_path, monkeypatch, runs_cnn, steps_per_loop, largest_call):
    calls = []
    steps_this_call = loop._Loop._steps_this_call
    monkeypatch.setattr(loop._Loop, "_steps_this_call",
                        lambda self, *args: calls.append(steps_this_call(self, *args)) or calls[-1])
    monkeypatch.setattr(BPRMF, "runs_cnn_every_step", property(lambda self: runs_cnn))
    _, summary = fit(registry.new_config("bprmf", embedding_dim=4),
                     config_lib.TrainConfig(dataset=low_rank_dataset, model_dir=str(tmp_path / "run"), epochs=2,
                                            batch_size=32, checkpoint_every=0, verbose=0,
                                            steps_per_loop=steps_per_loop))
    assert summary["steps"] == 24 and sum(calls) == 24
    assert max(calls) == largest_call


def test_which_models_run_a_cnn_every_step():
    info = DataInfo(num_users=5, num_items=10, num_categories=3)
    dvbpr = registry.build(registry.new_config("dvbpr", image_size=32, fc_width=16, visual_dim=4), info)
    bprmf = registry.build(registry.new_config("bprmf", embedding_dim=4), info)
    assert dvbpr.runs_cnn_every_step and not bprmf.runs_cnn_every_step
