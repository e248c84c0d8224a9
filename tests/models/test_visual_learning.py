"""Acceptance on the visual world: the fixed-feature visual models learn what the images show.

The world (tests/visual_world.py): a synthetic style world whose item features come from a
CNN pretrained on another world's labelled catalogue. Each model is trained once, with its
own flagfile, by the shared trainer and evaluated by full-catalogue AUC on the held-out test
items. Each must beat BPR-MF on cold test items (few training buyers: only the look can
tell) and come within 0.05 of the oracle, which ranks by the world's true utilities.

VisRank misses the oracle bound by design, not by tuning: a mean or max of cosine
similarities cannot weigh the attributes a user cares about against those they do not (a
bag shares "no sleeves, no neckline, no print" with every pair of trousers). Even on the
world's true attribute one-hots as features it stays ~0.07 below the oracle, while
VBPR/DeepStyle/FM on those one-hots come within 0.035. Its case is a strict xfail, so a
VisRank that does reach the bound turns the suite red until the mark is removed.
"""
import pytest

from visual_world import train_and_evaluate

pytestmark = pytest.mark.xdist_group("visual")
ORACLE_GAP = 0.05
MODELS = ["visrank", "fm", "vbpr", "deepstyle", "tvbpr", "ivbpr"]


@pytest.fixture(scope="module")
def world(visual_world, tmp_path_factory):
    """(dataset, oracle's results, `results(name)`: a model's test results, trained once)."""
    dataset = visual_world.load_dataset()
    oracle = visual_world.oracle_results(dataset)
    trained = {"bprmf": visual_world.baseline_results(dataset, "bprmf")}

    def results(name):
        if name not in trained:
            _, trained[name] = train_and_evaluate(name, dataset, tmp_path_factory.mktemp(name))
        return trained[name]

    return dataset, oracle, results


def test_the_world_has_cold_test_items(world):
    _, oracle, _ = world
    assert oracle["full_auc/num_cold_users"] >= 20, oracle


@pytest.mark.parametrize("name", MODELS)
def test_beats_bprmf_on_cold_items(name, world):
    _, _, results = world
    assert results(name)["full_auc/auc_cold"] > results("bprmf")["full_auc/auc_cold"], (
        results(name), results("bprmf"))


@pytest.mark.parametrize("name", [
    pytest.param("visrank", marks=pytest.mark.xfail(
        strict=True, reason="cosine pooling cannot weigh attributes (see the module docstring)")),
    *MODELS[1:]])
def test_comes_within_005_of_the_oracle(name, world):
    _, oracle, results = world
    assert results(name)["full_auc/auc"] >= oracle["full_auc/auc"] - ORACLE_GAP, (results(name), oracle)
