"""Acceptance on the synthetic style world: the collaborative baselines learn what they can.

BPR-MF comes within 0.03 of the oracle (ranking by the world's true utilities) on warm
items, where the world gives it enough purchases per user; Random lands at 0.5 and PopRank
above chance on warm items but below it on cold ones (cold items are unpopular by definition).
"""
import os

import pytest

from tfvisrec import config as config_lib
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.ingest import ingest
from tfvisrec.data.synthetic import SyntheticConfig, generate_world, load_truth
from tfvisrec.evaluation import protocols
from tfvisrec.training import fit

pytestmark = pytest.mark.xdist_group("cf_learning")
CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs")


def _world(root, **settings):
    world, data = os.path.join(root, "world"), os.path.join(root, "dataset")
    generate_world(world, SyntheticConfig(seed=3, **settings))
    ingest(os.path.join(world, "interactions.csv"), os.path.join(world, "items.csv"),
           images_dir=world, out_dir=data, seed=3)
    dataset = load_dataset(data)
    oracle = protocols.evaluate_score_matrix(load_truth(world).scores_for(dataset), dataset,
                                             ["full_auc"], split="test")
    return dataset, oracle


def _train(name, dataset, model_dir, **overrides):
    model_config, train_config = config_lib.configs_from_flagfile(
        os.path.join(CONFIGS, f"{name}.cfg"), dataset=dataset.path, model_dir=str(model_dir),
        verbose=0, **overrides)
    model, _ = fit(model_config, train_config, dataset=dataset)
    return protocols.evaluate(model, dataset, ["full_auc"], split="test")


def test_bprmf_approaches_the_oracle_on_warm_items(tmp_path):
    # 400 users buying ~80 of 500 items each with sharp tastes: enough purchases per user for
    # a latent-factor model to recover most of the attribute structure.
    dataset, oracle = _world(str(tmp_path), num_users=400, num_items=500, mean_interactions=100,
                             temperature=0.3)
    result = _train("bprmf", dataset, tmp_path / "bprmf", embedding_dim=64, l2_user=0.003,
                    l2_item=0.003, batch_size=1024, learning_rate=0.01, epochs=60)
    assert result["full_auc/auc_warm"] >= oracle["full_auc/auc_warm"] - 0.03, (result, oracle)


def test_random_and_poprank_land_where_theory_says(tmp_path):
    dataset, oracle = _world(str(tmp_path))
    rand = _train("random", dataset, tmp_path / "random")
    pop = _train("poprank", dataset, tmp_path / "pop")
    assert abs(rand["full_auc/auc"] - 0.5) < 0.05
    assert pop["full_auc/auc_warm"] > 0.55 > 0.45 > pop["full_auc/auc_cold"]
    assert oracle["full_auc/auc"] > pop["full_auc/auc"]
