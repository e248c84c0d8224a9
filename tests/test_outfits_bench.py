"""bench/outfits_table2.py: the table's mean ± standard deviation over seeds, the verdict on
the ablation order, and the synthetic world's oracle row."""
import json
import os
import sys

import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)

from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.outfits import load_outfits
from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
from tfvisrec.evaluation.outfit_oracle import WorldOracle
from tfvisrec.evaluation.outfits import evaluate_outfits

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.outfits_table2 import (COLUMNS, ROWS, add_to_table_file, attention_on_detail,  # noqa: E402
                                  hard_negative_pool, markdown_table, order_verdict)


def _runs(auc, fitb):
    return {str(k): {**{c: 0.5 for c in COLUMNS}, "real/personal/auc": a, "real/fitb/accuracy": f, "epochs": 9}
            for k, (a, f) in enumerate(zip(auc, fitb))}


def test_table_shows_mean_and_sd_and_judges_each_step_against_the_spread():
    labels = [label for label, _, overrides in ROWS if not overrides]
    results = {labels[0]: _runs([0.60, 0.62], [0.50, 0.50]), labels[1]: _runs([0.70, 0.72], [0.40, 0.60]),
               labels[2]: _runs([0.69, 0.73], [0.55, 0.56]), labels[3]: _runs([0.80, 0.80], [0.30, 0.32])}
    table = markdown_table(results)
    assert f"| {labels[1]} | 0.7100 ± {np.std([0.70, 0.72], ddof=1):.4f} |" in table
    auc, fitb = order_verdict(results).splitlines()
    assert "UL +0.1000 (up; paired +0.1000 ± 0.0000 SE over 2 seeds)" in auc
    assert "UL + HN + AN +0.0900 (up; paired +0.0900 ± 0.0200 SE over 2 seeds)" in auc   # +0.11, +0.07
    assert "within noise" in auc.split(", ")[1]           # 0.71 → 0.71, spread 0.028
    assert "UL + HN +0.0550 (up within noise; paired +0.0550 ± 0.0950 SE over 2 seeds)" in fitb   # +0.15, −0.04
    assert "UL + HN + AN -0.2450 (down; paired -0.2450 ± 0.0050 SE over 2 seeds)" in fitb          # −0.25, −0.24
    one_seed = {label: {"0": runs["0"]} for label, runs in results.items()}
    assert "paired" not in order_verdict(one_seed)


def test_the_table_file_keeps_the_rows_and_seeds_an_invocation_did_not_train(tmp_path):
    path = str(tmp_path / "table2.json")
    add_to_table_file(path, {"pan": {"42": {"auc": 0.5}, "43": {"auc": 0.6}}, "fhn": {"42": {"auc": 0.4}}})
    add_to_table_file(path, {"pan": {"43": {"auc": 0.7}, "44": {"auc": 0.8}}, "pan, ranks 0-1": {"42": {"auc": 0.9}}})
    with open(path) as f:
        assert json.load(f) == {"pan": {"42": {"auc": 0.5}, "43": {"auc": 0.7}, "44": {"auc": 0.8}},
                                "fhn": {"42": {"auc": 0.4}}, "pan, ranks 0-1": {"42": {"auc": 0.9}}}


def test_world_oracle_knows_compatibility_and_taste(tmp_path):
    world = make_outfit_world(OutfitWorldConfig(num_users=8, items_per_slot=12, outfits_per_user=6,
                                                valid_per_user=1, test_per_user=2, candidates=40))
    path = write_outfit_world(world, str(tmp_path / "w"))
    result = evaluate_outfits(WorldOracle(os.path.join(path, "outfit_truth.npz")), load_outfits(load_dataset(path)))
    assert result["real/random/auc"] > 0.9 and result["real/personal/auc"] > 0.7
    # its two terms are the FITB ceilings of compatibility alone and taste alone; together they answer more
    assert 0.25 < result["real/fitb/g_only"] < result["real/fitb/accuracy"]
    assert 0.25 < result["real/fitb/p_only"] < result["real/fitb/accuracy"]


def test_attention_on_detail_reads_the_models_own_maps(tmp_path):
    """The bench's spatial-attention probe runs on a PAN model (its item maps, its gates) and
    gives shares of the attention mass and a uniform reference of 1 / (h·w)."""
    from tfvisrec.models import registry
    from tfvisrec.models.base import DataInfo
    world = make_outfit_world(OutfitWorldConfig(num_users=5, items_per_slot=8, outfits_per_user=5,
                                                valid_per_user=1, test_per_user=1, candidates=40))
    dataset = load_dataset(write_outfit_world(world, str(tmp_path / "w")))
    model = registry.get("pan")(DataInfo.from_dataset(dataset), registry.new_config("pan", code_dim=6))
    model.prepare(dataset)
    model.build_variables()
    got = attention_on_detail(model, load_outfits(dataset), os.path.join(dataset.path, "outfit_truth.npz"))
    h, w = model.item_maps.map_shape[:2]
    assert got["uniform"] == 1.0 / (h * w)
    assert 0.0 < got["mass_share"] < 1.0 and 0.0 <= got["argmax_rate"] <= 1.0


def test_hard_negative_pool_counts_the_nearest_shoppers_in_code_who_share_a_liked_detail(tmp_path):
    import types
    # details liked: u0 {0}, u1 {0}, u2 {1}, u3 {0, 1}; nearest in code: u0 ↔ u2, u1 → u3, u3 ties with all
    taste = np.array([[1, 0], [1, 0], [0, 1], [1, 1]])
    np.savez(tmp_path / "truth.npz", taste=taste)
    model = types.SimpleNamespace(user_embedding=np.array([[0.3, 2.0], [-1.0, -0.2], [0.1, 0.5], [-4.0, 1.0]]),
                                  config=types.SimpleNamespace(hard_k_ratio=0.3, hard_skip_ratio=0.0))
    got = hard_negative_pool(model, str(tmp_path / "truth.npz"))    # ⌈0.3 · 3⌉ = 1 nearest
    assert got["shares_taste"] == 0.5             # u0 → u2 no, u1 → u3 yes, u2 → u0 no, u3 → any: yes
    assert got["any_other"] == 8 / 12 and got["k_ratio"] == 0.3
    # the band of ranks 2-3 (⌊0.4 · 3⌋ = 1 nearest skipped, ⌈0.7 · 3⌉ = 3): u0 → u3, u1 yes yes;
    # u1 → u0, u2 yes no; u2 → u3, u1 yes no; u3 → two of the others, yes yes
    model.config = types.SimpleNamespace(hard_k_ratio=0.7, hard_skip_ratio=0.4)
    assert hard_negative_pool(model, str(tmp_path / "truth.npz"))["shares_taste"] == 6 / 8
