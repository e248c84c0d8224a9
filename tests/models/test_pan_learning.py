"""PAN learns the synthetic shoppers' taste: on the outfit world (fixed 4×4 feature maps,
colour compatibility rules, liked details per shopper readable only in the item's detail
region) it must rank a shopper's held-out outfits above other shoppers' outfits (personal
AUC) clearly better than the non-personal compatibility baseline (FHN with α = 0, which
scores outfits alike for every shopper, so its personal AUC stays near 0.5), and fill in a
blanked slot better than it, through its user's score p."""
import numpy as np
import pytest

from tfvisrec.config import TrainConfig
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.outfits import load_outfits
from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
from tfvisrec.evaluation.outfits import evaluate_outfits
from tfvisrec.models import registry
from tfvisrec.training.loop import fit

pytestmark = pytest.mark.xdist_group("pan_learning")

WORLD = OutfitWorldConfig(num_users=24, items_per_slot=30, outfits_per_user=14, valid_per_user=2,
                          test_per_user=2, seed=3)


@pytest.fixture(scope="module")
def outfit_world(tmp_path_factory):
    world = make_outfit_world(WORLD)
    path = write_outfit_world(world, str(tmp_path_factory.mktemp("outfits") / "world"))
    return load_dataset(path)


def _train_and_evaluate(dataset, tmp_path, name, epochs, **config):
    model_config = registry.new_config(name, **config)
    train_config = TrainConfig(dataset=dataset.path, model_dir=str(tmp_path / name), epochs=epochs,
                               batch_size=32, learning_rate=0.01, verbose=0, patience=0,
                               steps_per_loop=50, eval_every_epochs=epochs)
    model, _ = fit(model_config, train_config, dataset=dataset)
    return evaluate_outfits(model, load_outfits(dataset), split="test")


def test_pan_beats_the_non_personal_baseline_on_personal_auc_and_fitb(outfit_world, tmp_path):
    baseline = _train_and_evaluate(outfit_world, tmp_path, "fhn", epochs=8, alpha=0.0)
    pan = _train_and_evaluate(outfit_world, tmp_path, "pan", epochs=8)
    print("baseline", baseline, "\npan", pan)
    assert abs(baseline["real/personal/auc"] - 0.5) < 0.1
    assert pan["real/personal/auc"] > baseline["real/personal/auc"] + 0.12
    assert pan["real/personal/auc"] > 0.65
    # both learn the compatibility rules: a mixed outfit ranks below a chosen one
    assert baseline["real/random/auc"] > 0.6 and pan["real/random/auc"] > 0.6
    assert np.isfinite(pan["binary/fitb/accuracy"])
    # fill in the blank: many wrong candidates go with the outfit's colours too, so taste decides;
    # PAN's user score p alone picks the right item well above chance (α = 0 ties every candidate)
    assert pan["real/fitb/accuracy"] > baseline["real/fitb/accuracy"] + 0.1
    assert baseline["real/fitb/p_only"] == 0.25 and pan["real/fitb/p_only"] > 0.4
