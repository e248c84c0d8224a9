"""`python -m tfvisrec.interactive` and `python -m tfvisrec.trends` on one I-TVBPR run trained
by the real loop on a tiny world whose attribute probabilities carry the utility's factors."""
import dataclasses
import json
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
from absl import app, flags
from absl.testing import flagsaver

from tfvisrec import interactive as interactive_cli
from tfvisrec import trends as trends_cli
from tfvisrec.config import TrainConfig
from tfvisrec.interpretable_run import load_interpretable_run
from tfvisrec.models import interactive, registry
from tfvisrec.models.trends import model_feature_trends, read_trends_csv


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from tiny_worlds import write_low_rank_dataset
    from tfvisrec.training import fit
    root = tmp_path_factory.mktemp("interpretable")
    dataset_dir = write_low_rank_dataset(str(root / "data"), num_users=80, num_items=50, per_user=10,
                                         with_time=True, attribute_probs=True)
    model_dir = str(root / "itvbpr")
    fit(registry.new_config("itvbpr", embedding_dim=2, visual_dim=3, time_epochs=3, feature_norm="none",
                            num_negatives=4),
        dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=model_dir, epochs=8,
                            batch_size=64, learning_rate=0.05, eval_every_epochs=4, verbose=0))
    return model_dir


@pytest.fixture(scope="module")
def trained(run_dir):
    return load_interpretable_run(run_dir)


def _main(module, *args):
    with flagsaver.flagsaver():
        flags.FLAGS([module.__name__, *args])
        return module.main([module.__name__])


def test_the_run_learned_from_the_named_features(trained):
    from tfvisrec.evaluation import protocols
    results = protocols.evaluate(trained.model, trained.dataset, ["full_auc"], split="test")
    assert results["full_auc/auc"] > 0.8, results


def test_json_record_is_the_models_own_ranking(run_dir, trained, capsys):
    assert _main(interactive_cli, f"--model_dir={run_dir}", "--user=u003", "--more=tone=light",
                 "--strength=1", "--k=5", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    user = trained.user("u003")
    affinity = trained.affinity(user)
    got = {a["feature"]: a["weight"] for a in record["affinity"]}
    assert got == pytest.approx(dict(zip(trained.features.names, affinity)))
    # the "before" list, recomputed from the model's x̂(u, i, t) at the last epoch
    dataset, model = trained.dataset, trained.model
    items = np.arange(dataset.num_items)
    scores = model.score(tf.fill([len(items)], user), {
        "item": items, "features": trained.features.matrix,
        "time": np.full(len(items), dataset.train.times.max(), np.int64)}).numpy()
    scores[trained.seen_items(user)] = -np.inf
    assert [r["item"] for r in record["before"]] == [dataset.item_ids[i] for i in np.argsort(-scores)[:5]]
    step = record["steered_affinity"]["tone=light"] - got["tone=light"]
    assert step == pytest.approx(np.abs(affinity).max()) and record["steering"][0]["step"] == pytest.approx(step)
    assert record["epoch"] == 2 and len(record["after"]) == 5


def test_like_and_more_together_apply_both_steps(run_dir, trained, capsys):
    assert _main(interactive_cli, f"--model_dir={run_dir}", "--user=u005", "--more=tone=dark",
                 "--like=i007", "--strength=0.5", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert [s["kind"] for s in record["steering"]] == ["like", "more"]
    affinity = trained.affinity(trained.user("u005"))
    expected = interactive.steer_toward_item(affinity, trained.features.matrix[trained.item("i007")], 0.5)
    expected = interactive.steer_feature(expected, trained.feature("tone=dark"), 0.5 * np.abs(affinity).max())
    got = record["steered_affinity"]
    assert [got[n] for n in trained.features.names] == pytest.approx(list(expected))


def test_tables_show_affinity_and_both_lists(run_dir, capsys):
    assert _main(interactive_cli, f"--model_dir={run_dir}", "--user=u010", "--less=shape=wide", "--k=4") == 0
    out = capsys.readouterr().out
    assert "affinity p_u" in out and "steering: less shape=wide" in out
    assert "before" in out and "after" in out and out.count("\n     ") >= 4


def test_boosting_a_feature_raises_its_share_monotonically(trained):
    light = trained.features.matrix[:, trained.feature("tone=light")] >= 0.5
    shares = []
    for strength in (0.0, 0.5, 1.0, 2.0, 4.0):
        records = [interactive_cli.session(trained, f"u{u:03d}", [("more", "tone=light")], strength, k=5)
                   for u in range(0, 80, 4)]
        shares.append(np.mean([light[[trained.item(r["item"]) for r in rec["after"]]].mean() for rec in records]))
    assert all(b >= a for a, b in zip(shares, shares[1:])), shares
    assert shares[-1] >= shares[0] + 0.3, shares


def test_liking_an_item_moves_its_neighbours_up(trained):
    moved = []
    for u in range(0, 80, 8):
        before = interactive_cli.session(trained, f"u{u:03d}", k=40)["before"]
        liked = trained.item(before[-1]["item"])           # one the user ranks low
        neighbours = {trained.dataset.item_ids[i] for i in interactive.nearest_items(trained.features.matrix, liked, 3)[0]}
        after = interactive_cli.session(trained, f"u{u:03d}", [("like", trained.dataset.item_ids[liked])], 1.0, k=40)["after"]
        rank = lambda rows: np.mean([k for k, r in enumerate(rows) if r["item"] in neighbours] or [40])  # noqa: E731
        moved.append(rank(before) - rank(after))
    assert np.mean(moved) > 5, moved


@pytest.mark.parametrize("args, message", [
    (["--user=u9999"], "unknown user 'u9999'; closest: u"),
    (["--user=u001", "--more=tone=lite"], "unknown feature 'tone=lite'; closest: tone=light"),
    (["--user=u001", "--like=item7"], "unknown item 'item7'"),
    (["--user=u001", "--boost=tone=lite"], "unknown feature 'tone=lite'"),      # the older names
    (["--user=u001", "--toward_item=item7"], "unknown item 'item7'"),
])
def test_unknown_names_print_the_closest_and_exit_2(run_dir, args, message, capsys):
    assert _main(interactive_cli, f"--model_dir={run_dir}", *args) == 2
    assert message in capsys.readouterr().err


def test_bad_flags_and_folders(run_dir, tmp_path, capsys):
    with pytest.raises(app.UsageError, match="give one of --more, --less, not both"):
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--more=tone=dark", "--reduce=shape=slim")
    with pytest.raises(app.UsageError, match=r"--more \(or its old name --boost\) is given 2 times: give it once"):
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--boost=tone=dark", "--more=tone=light")
    with pytest.raises(app.UsageError, match=r"--like \(or its old name --toward_item\) is given 2 times"):
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--like=i001", "--like=i002")
    with pytest.raises(app.UsageError, match=r"--strength must lie in \[0, 1\] with --like"):
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--toward_item=i001", "--strength=2")
    with pytest.raises(app.UsageError, match="--strength must be a finite number ≥ 0, got -5") as refused:
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--more=tone=dark", "--strength=-5")
    assert refused.value.exitcode == 2
    for given, name, wanted in (("--more=", "more", "a named feature"), ("--reduce= ", "less", "a named feature"),
                                ("--like=", "like", "an item id")):   # they steered nothing, with status 0
        with pytest.raises(app.UsageError, match=rf"--{name} \(or its old name --\w+\) is empty: give {wanted}"):
            _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", given)
    with pytest.raises(app.UsageError, match="--strength is the size of a steering step: give it with --like"):
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--strength=0.9")
    with pytest.raises(app.UsageError, match="--top_features must be at least 1, got 0"):
        _main(interactive_cli, f"--model_dir={run_dir}", "--user=u001", "--top_features=0")
    assert _main(trends_cli, f"--model_dir={tmp_path}", f"--out={tmp_path}") == 2
    with pytest.raises(app.UsageError, match="--out names the folder trends.csv and trends.png go into"):
        _main(trends_cli, f"--model_dir={run_dir}", f"--out={tmp_path / 'trends.png'}")
    assert "not a trained model folder" in capsys.readouterr().err


def test_trends_writes_the_csv_and_the_plot(run_dir, trained, tmp_path, capsys):
    from PIL import Image
    out = tmp_path / "trends"
    assert _main(trends_cli, f"--model_dir={run_dir}", f"--out={out}", "--top=3") == 0
    assert sorted(os.listdir(out)) == ["trends.csv", "trends.png"]    # no temporary file left
    written, expected = read_trends_csv(str(out / "trends.csv")), model_feature_trends(trained.model, trained.features.names)
    np.testing.assert_allclose(written.influence, expected.influence, rtol=1e-6)
    assert written.feature_names == trained.features.names and written.influence.shape == (3, 5)
    with Image.open(out / "trends.png") as image:
        assert image.format == "PNG" and image.width > 500
    assert "top 3 by variation" in capsys.readouterr().out


def test_epoch_is_refused_for_a_run_without_time_epochs(run_dir, tmp_path, capsys):
    from tfvisrec.training import fit
    from tfvisrec.training.checkpoints import read_configs
    dataset_dir = read_configs(run_dir)[1].dataset
    model_dir = str(tmp_path / "ivbpr")
    fit(registry.new_config("ivbpr", embedding_dim=2, visual_dim=3, feature_norm="none"),
        dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=model_dir, epochs=1, batch_size=64,
                            verbose=0))
    assert _main(interactive_cli, f"--model_dir={model_dir}", "--user=u001", "--epoch=1") == 2
    assert "--epoch: this ivbpr run has no time epochs (itvbpr has)" in capsys.readouterr().err
    assert _main(interactive_cli, f"--model_dir={model_dir}", "--user=u001") == 0
