"""Acceptance on the visual world: the fixed-feature visual models learn what the images show.

The world (tests/visual_world.py): a synthetic style world whose item features come from a
CNN pretrained on another world's labelled catalogue. Each model is trained once, with its
own flagfile, by the shared trainer and evaluated by full-catalogue AUC on the held-out test
items. Each must beat BPR-MF on cold held-out items (few training buyers: only the look can
tell; both held-out splits, `visual_world.held_out_cold_auc`) and come within 0.05 of the
oracle, which ranks by the world's true utilities.

VisRank misses the oracle bound by design, not by tuning: a mean or max of cosine
similarities cannot weigh the attributes a user cares about against those they do not (a
bag shares "no sleeves, no neckline, no print" with every pair of trousers). Even on the
world's true attribute one-hots as features it stays ~0.07 below the oracle, while
VBPR/DeepStyle/FM on those one-hots come within 0.035. Its case is a strict xfail, so a
VisRank that does reach the bound turns the suite red until the mark is removed.
"""
import pytest

from visual_world import HELD_OUT_COLD_AUC, train_and_evaluate

pytestmark = pytest.mark.xdist_group("visual")
ORACLE_GAP = 0.05
MODELS = ["visrank", "fm", "vbpr", "deepstyle", "tvbpr", "ivbpr"]
# SAERS on fixed features (the attention over regions.npz + W_g f_i): 6 of its 40 epochs
# (all 40: AUC 0.919, cold 0.870; 6: 0.887, 0.848). Content only, like DVBPR, it stays
# ~0.07 below the oracle (module docstring of test_visual_e2e_learning.py), so its cold
# items are asserted against BPR-MF, and that its attention does not collapse to SAFo's
# uniform weights (it did under an L2 weight on the attention MLP: configs/saers_fixed.cfg).
SHORTENED = {"saers_fixed": {"epochs": 6}}


@pytest.fixture(scope="module")
def world(visual_world, tmp_path_factory):
    """(dataset, oracle's results, `results(name)`: a model's test results, trained once)."""
    dataset = visual_world.load_dataset()
    oracle = visual_world.oracle_results(dataset)
    trained, models = {"bprmf": visual_world.baseline_results(dataset, "bprmf")}, {}

    def results(name):
        if name not in trained:
            models[name], trained[name] = train_and_evaluate(
                name, dataset, tmp_path_factory.mktemp(name), **SHORTENED.get(name, {}))
        return trained[name]

    results.models = models
    return dataset, oracle, results


def test_the_world_has_cold_test_items(world):
    _, oracle, _ = world
    assert oracle["full_auc/num_cold_users"] >= 20, oracle


@pytest.mark.parametrize("name", MODELS)
def test_beats_bprmf_on_cold_items(name, world):
    _, _, results = world
    assert results(name)[HELD_OUT_COLD_AUC] > results("bprmf")[HELD_OUT_COLD_AUC], (
        results(name), results("bprmf"))


@pytest.mark.parametrize("name", [
    pytest.param("visrank", marks=pytest.mark.xfail(
        strict=True, reason="cosine pooling cannot weigh attributes (see the module docstring)")),
    *MODELS[1:]])
def test_comes_within_005_of_the_oracle(name, world):
    _, oracle, results = world
    assert results(name)["full_auc/auc"] >= oracle["full_auc/auc"] - ORACLE_GAP, (results(name), oracle)


def test_saers_beats_bprmf_on_cold_items_and_its_attention_picks_attributes(world):
    dataset, _, results = world
    assert results("saers_fixed")[HELD_OUT_COLD_AUC] > results("bprmf")[HELD_OUT_COLD_AUC], (
        results("saers_fixed"), results("bprmf"))
    import numpy as np
    from tfvisrec.data import schema
    from tfvisrec.data.item_features import ItemFeatureTable
    model = results.models["saers_fixed"]
    table = ItemFeatureTable(dataset, model.item_feature_keys + schema.REGION_KEYS[1:])
    explained = model.explain(dataset.test.users, table.lookup(dataset.test.items))
    weights = explained["weights"].numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    # not the uniform average of SAFo: each pair leans on some attributes more than others
    assert weights.max(axis=1).mean() > 1.5 / weights.shape[1], weights.max(axis=1).mean()
