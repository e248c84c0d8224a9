"""The synthetic style world: determinism, files, drawn regions, true utilities, cold items, drift."""
import csv
import datetime
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from temp_writers import killed_writer_folder, running_writer
from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data.errors import DataError
from tfvisrec.data.synthetic import (SyntheticConfig, generate_world, leave_one_out_oracle_auc,
                                     load_truth)
from tfvisrec.data.synthetic import drawing, vocabulary
from tfvisrec.data.synthetic.truth import Truth

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = dict(num_users=80, num_items=150, image_size=48)
TINY = dict(num_users=20, num_items=36, image_size=32)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return generate_world(str(tmp_path_factory.mktemp("w") / "world"),
                          SyntheticConfig(outfits=True, seed=3, **SMALL))


@pytest.fixture(scope="module")
def drift_world(tmp_path_factory):
    return generate_world(str(tmp_path_factory.mktemp("d") / "world"),
                          SyntheticConfig(drift=True, seed=4, **SMALL))


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _buyers(truth):
    return np.bincount(truth.interactions["items"], minlength=len(truth.item_ids))


def test_same_seed_gives_identical_files(tmp_path):
    a = generate_world(str(tmp_path / "a"), SyntheticConfig(seed=7, outfits=True, **TINY))
    b = generate_world(str(tmp_path / "b"), SyntheticConfig(seed=7, outfits=True, **TINY))
    c = generate_world(str(tmp_path / "c"), SyntheticConfig(seed=8, outfits=True, **TINY))
    names = ["interactions.csv", "items.csv", "outfits.csv", "truth.json"]
    names += [os.path.join("images", n) for n in sorted(os.listdir(os.path.join(a, "images")))]
    for name in names:
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            assert fa.read() == fb.read(), name
    with np.load(os.path.join(a, "truth.npz")) as za, np.load(os.path.join(b, "truth.npz")) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k], err_msg=k)
    with open(os.path.join(a, "interactions.csv"), "rb") as fa, \
            open(os.path.join(c, "interactions.csv"), "rb") as fc:
        assert fa.read() != fc.read()


def test_the_world_folder_has_the_mode_a_plain_folder_gets(tmp_path):
    umask = os.umask(0o022)   # it was built in a mkdtemp folder, 0700: private to its maker
    try:
        path = generate_world(str(tmp_path / "w"), SyntheticConfig(seed=7, **TINY))
    finally:
        os.umask(umask)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o755)


def test_a_run_removes_the_folder_a_killed_run_left_but_not_a_running_ones(tmp_path):
    killed = killed_writer_folder(tmp_path, ".w.tmp-")   # `python -m tfvisrec.data synthetic` killed
    with running_writer(tmp_path, ".w.tmp-") as running:
        generate_world(str(tmp_path / "w"), SyntheticConfig(seed=7, **TINY))
        assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(running), "w"])
    assert not os.path.exists(killed)


def test_a_full_disk_names_the_world_and_leaves_nothing(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):   # numpy's and PIL's own errors name no file
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", full_disk)
    monkeypatch.setattr(np, "savez_compressed", full_disk)
    with pytest.raises(OSError) as raised:
        generate_world(str(tmp_path / "w"), SyntheticConfig(seed=7, **TINY))
    assert str(raised.value) == f"cannot write the world {tmp_path / 'w'} (No space left on device)"
    assert os.listdir(tmp_path) == []


def test_csvs_are_canonical_and_match_truth(world):
    truth = load_truth(world)
    items = _read_csv(os.path.join(world, "items.csv"))
    assert list(items[0]) == ["item_id", "image", "category", "colour", "pattern", "sleeve",
                              "neckline", "print"]
    assert [r["item_id"] for r in items] == truth.item_ids
    for i, row in enumerate(items):
        assert row["image"] == f"images/{row['item_id']}.jpg"
        for a, name in enumerate(truth.attribute_names):
            assert row[name] == truth.attribute_values[a][truth.item_values[i, a]]
    rows = _read_csv(os.path.join(world, "interactions.csv"))
    assert list(rows[0]) == ["user_id", "item_id", "timestamp"]
    assert len(rows) == len(truth.interactions["users"])
    pairs = {(r["user_id"], r["item_id"]) for r in rows}
    assert len(pairs) == len(rows)  # distinct items per user
    start, end = truth.time_range
    for r in rows:
        t = datetime.datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert start <= t <= end
    per_user = np.bincount(truth.interactions["users"], minlength=len(truth.user_ids))
    assert per_user.min() >= 6
    assert 14 <= per_user.mean() <= 26


def test_images_decode_with_the_right_size(world):
    truth = load_truth(world)
    for item_id in truth.item_ids:
        with Image.open(os.path.join(world, "images", f"{item_id}.jpg")) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and im.size == (48, 48)


def test_region_boxes_lie_inside_and_cover_drawn_pixels(world):
    truth = load_truth(world)
    region_categories = [vocabulary.CATEGORIES.index(c) for c in vocabulary.REGION_CATEGORIES]
    has_regions = np.isin(truth.item_values[:, 0], region_categories)
    assert np.isnan(truth.region_boxes[~has_regions]).all()
    boxes = truth.region_boxes[has_regions]
    assert not np.isnan(boxes).any()
    assert (boxes >= 0).all() and (boxes <= 1).all()
    assert (boxes[..., 2] > boxes[..., 0]).all() and (boxes[..., 3] > boxes[..., 1]).all()
    neck, chest = truth.region_attributes.index("neckline"), truth.region_attributes.index("print")
    assert (boxes[:, neck, 0] < boxes[:, chest, 0]).all()  # the neck is above the chest
    for i in np.flatnonzero(has_regions)[:20]:
        image = np.asarray(Image.open(os.path.join(world, "images", f"{truth.item_ids[i]}.jpg")), np.float32)
        background = np.median(image[:3, :3].reshape(-1, 3), axis=0)
        for attribute in truth.region_attributes + ["colour"]:
            y0, x0, y1, x1 = np.round(truth.region_box(i, attribute) * 48).astype(int)
            patch = image[y0:y1, x0:x1]
            assert np.abs(patch - background).sum(-1).mean() > 15, (truth.item_ids[i], attribute)


@pytest.mark.parametrize("attribute,a,b", [("neckline", "round", "v"), ("neckline", "v", "collar"),
                                           ("print", "plain", "star"), ("print", "heart", "logo"),
                                           ("sleeve", "short", "long"), ("sleeve", "sleeveless", "short")])
@pytest.mark.parametrize("category", ["top", "dress"])
@pytest.mark.parametrize("part_scale", [1.0, 1.5])
def test_changing_a_region_attribute_only_changes_pixels_inside_its_boxes(category, attribute, a, b, part_scale):
    size = 64
    values = {"category": category, "colour": "blue", "pattern": "stripes",
              "sleeve": "short", "neckline": "round", "print": "plain"}
    drawings = []
    for v in (a, b):
        drawings.append(drawing.draw_item(dict(values, **{attribute: v}), size, np.random.default_rng(5),
                                          part_scale=part_scale))
    diff = np.abs(np.asarray(drawings[0].image, np.int32) - np.asarray(drawings[1].image, np.int32)).sum(-1)
    inside = np.zeros((size, size), bool)
    for d in drawings:
        for y0, x0, y1, x1 in d.regions[attribute]:
            # Three output pixels of slack: the Lanczos-3 kernel of the 2x downsampling reaches
            # that far (faint ringing), nothing else may change outside the boxes.
            inside[max(0, int(y0 * size) - 3):int(np.ceil(y1 * size)) + 3,
                   max(0, int(x0 * size) - 3):int(np.ceil(x1 * size)) + 3] = True
    assert diff[inside].max() > 60
    assert diff[~inside].max() == 0


@pytest.mark.parametrize("category", ["top", "dress"])
def test_part_scale_enlarges_neckline_and_print_and_keeps_them_apart(category):
    """Same item, same jitter: at part_scale 1.5 the neckline and print boxes are 1.5 times as
    wide (their margins, 0.01 and 0.005 of the jitter scale, aside), the drawn print lies below
    the drawn neckline (the boxes without their margins), and the sleeves are untouched."""
    for neckline, motif in [("round", "star"), ("v", "heart"), ("collar", "logo"), ("v", "plain")]:
        values = {"category": category, "colour": "red", "pattern": "solid", "sleeve": "short",
                  "neckline": neckline, "print": motif}
        plain, scaled = (drawing.draw_item(values, 64, np.random.default_rng(2), part_scale=s) for s in (1.0, 1.5))
        jitter = np.random.default_rng(2).uniform(0.86, 1.02)   # draw_item's first draw: the scale
        for attribute, margin in (("neckline", 0.01), ("print", 0.005)):
            width = lambda d: d.regions[attribute][0][3] - d.regions[attribute][0][1] - 2 * margin * jitter  # noqa: E731
            assert width(scaled) == pytest.approx(1.5 * width(plain), rel=1e-6), (neckline, motif, attribute)
        neck_bottom = scaled.regions["neckline"][0][2] - 0.01 * jitter
        assert neck_bottom < scaled.regions["print"][0][0] + 0.005 * jitter, (neckline, motif)
        assert scaled.regions["sleeve"] == plain.regions["sleeve"]


def test_utilities_match_a_numpy_recomputation(world):
    truth = load_truth(world)
    w, values, bias = truth.user_weights, truth.item_values, truth.item_bias
    expected = np.zeros((len(truth.user_ids), len(truth.item_ids)))
    for a in range(len(truth.attribute_names)):
        expected += w[:, truth.value_offsets[a] + values[:, a]]
    expected += bias[None, :]
    np.testing.assert_allclose(truth.utility, expected, rtol=1e-5, atol=1e-5)
    # Sparse tastes: nobody likes "none", and every user likes some category and colour.
    none_columns = [truth.value_offsets[a] for a, name in enumerate(truth.attribute_names)
                    if truth.attribute_values[a][0] == vocabulary.NONE]
    assert (w[:, none_columns] == 0).all()
    for name in ("category", "colour"):
        a = truth.attribute_names.index(name)
        block = w[:, truth.value_offsets[a]:truth.value_offsets[a] + len(truth.attribute_values[a])]
        assert ((block > 0).sum(1) >= 1).all()


def test_bought_items_have_clearly_higher_true_utility(world):
    truth = load_truth(world)
    bought = truth.utility[truth.interactions["users"], truth.interactions["items"]]
    assert bought.mean() > truth.utility.mean() + 1.5
    oracle = leave_one_out_oracle_auc(truth, seed=0)
    assert 0.8 < oracle["auc"] < 0.97
    assert oracle["num_test"] == len(truth.user_ids)


def _toy_truth(utility, users, items):
    num_users, num_items = utility.shape
    zeros = np.zeros((num_items, 0, 4), np.float32)
    return Truth(
        user_ids=[f"u{u}" for u in range(num_users)], item_ids=[f"i{i}" for i in range(num_items)],
        attribute_names=["colour"], attribute_values=[["red", "blue"]], region_attributes=[],
        value_offsets=[0], item_values=np.zeros((num_items, 1), np.int32), region_boxes=zeros,
        region_parts=zeros[:, :, None], garment_boxes=np.zeros((num_items, 4), np.float32),
        weights_start=np.zeros((num_users, 2), np.float32), weights_end=np.zeros((num_users, 2), np.float32),
        item_bias=np.zeros(num_items, np.float32), utility_start=utility, utility_end=utility,
        item_release=np.zeros(num_items, np.int64), is_cold_item=np.zeros(num_items, bool),
        interactions={"users": np.asarray(users), "items": np.asarray(items),
                      "times": np.zeros(len(users), np.int64)},
        time_range=(0, 1), drift=False, config={}, outfit_rules={})


def test_oracle_auc_on_a_tiny_case():
    # Users 0 and 1 bought items 0-2 and 3-5 of 8; each keeps 5 never-bought items.
    users, items = [0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 4, 5]
    bought = np.zeros((2, 8), bool)
    bought[users, items] = True
    perfect = np.where(bought, 1.0, 0.0).astype(np.float32)
    assert leave_one_out_oracle_auc(_toy_truth(perfect, users, items))["auc"] == 1.0
    assert leave_one_out_oracle_auc(_toy_truth(-perfect, users, items))["auc"] == 0.0
    assert leave_one_out_oracle_auc(_toy_truth(np.zeros((2, 8), np.float32), users, items))["auc"] == 0.5
    # Item 7 outranks every bought item of user 0; the other never-bought items do not.
    mixed = perfect.copy()
    mixed[:, 7] = 2.0
    result = leave_one_out_oracle_auc(_toy_truth(mixed, users, items))
    np.testing.assert_allclose(result["auc"], 4.0 / 5.0)
    assert result["num_cold"] == 2  # every test item has < 5 training buyers


def test_cold_items_are_released_late_and_have_few_buyers(world):
    truth = load_truth(world)
    assert truth.is_cold_item.sum() == round(0.2 * 150)
    buyers = _buyers(truth)
    assert np.median(buyers[truth.is_cold_item]) <= 3
    assert np.median(buyers[~truth.is_cold_item]) >= 8
    start, end = truth.time_range
    assert (truth.item_release[truth.is_cold_item] >= end - 0.25 * (end - start) - 1).all()
    times, items = truth.interactions["times"], truth.interactions["items"]
    assert (times >= truth.item_release[items]).all()
    assert leave_one_out_oracle_auc(truth, seed=0)["num_cold"] >= 4


def test_drift_moves_colour_and_pattern_tastes_over_time(world, drift_world):
    still = load_truth(world)
    assert not still.drift
    np.testing.assert_array_equal(still.utility_start, still.utility_end)
    truth = load_truth(drift_world)
    assert truth.drift
    for name, drifts in [("category", False), ("colour", True), ("pattern", True), ("sleeve", False)]:
        a = truth.attribute_names.index(name)
        block = slice(truth.value_offsets[a], truth.value_offsets[a] + len(truth.attribute_values[a]))
        changed = (truth.weights_start[:, block] != truth.weights_end[:, block]).any(axis=1).mean()
        assert changed > 0.5 if drifts else changed == 0.0, name
    start, end = truth.time_range
    np.testing.assert_allclose(truth.utility_at(start), truth.utility_start)
    np.testing.assert_allclose(truth.utility_at(end), truth.utility_end)
    np.testing.assert_allclose(truth.utility_at((start + end) / 2),
                               (truth.utility_start + truth.utility_end) / 2, rtol=1e-5, atol=1e-5)
    # Early purchases follow the start taste, late ones the end taste.
    users, items, times = (truth.interactions[k] for k in ("users", "items", "times"))
    gap = truth.utility_start[users, items] - truth.utility_end[users, items]
    early, late = times < start + 0.25 * (end - start), times > end - 0.25 * (end - start)
    assert gap[early].mean() > 0.5 and gap[late].mean() < -0.5


def test_truth_aligns_to_a_dataset_and_answers_questions(world):
    truth = load_truth(world)
    rng = np.random.default_rng(0)
    user_order = rng.permutation(len(truth.user_ids))[:50]
    item_order = rng.permutation(len(truth.item_ids))
    empty = dataset_lib.Split(*(np.zeros(0, np.int64) for _ in range(3)))
    ds = dataset_lib.Dataset(
        path=None, meta={}, user_ids=[truth.user_ids[u] for u in user_order],
        item_ids=[truth.item_ids[i] for i in item_order], train=empty, valid=empty, test=empty,
        category=np.zeros(len(item_order), np.int32), attributes=np.zeros((len(item_order), 0), np.int32),
        train_count=np.zeros(len(item_order), np.int32), is_cold=np.zeros(len(item_order), bool))
    np.testing.assert_array_equal(truth.scores_for(ds), truth.utility[np.ix_(user_order, item_order)])
    ds.item_ids[0] = "not-an-item"
    with pytest.raises(DataError, match="not-an-item"):
        truth.scores_for(ds)

    for u, i in [(0, 0), (5, 17), (31, 99)]:
        w = truth.user_weights[u]
        terms = [w[truth.value_offsets[a] + truth.item_values[i, a]] for a in range(len(truth.attribute_names))]
        assert truth.driving_attribute(truth.user_ids[u], truth.item_ids[i]) == \
            truth.attribute_names[int(np.argmax(terms))]
        np.testing.assert_allclose(sum(truth.contributions(u, i).values()) + truth.item_bias[i],
                                   truth.utility[u, i], rtol=1e-5, atol=1e-5)
    shoes = int(np.flatnonzero(truth.item_values[:, 0] == vocabulary.CATEGORIES.index("shoes"))[0])
    assert np.isnan(truth.region_box(shoes, "sleeve")).all()
    assert truth.region_part_boxes(shoes, "sleeve").shape == (0, 4)
    np.testing.assert_array_equal(truth.region_box(shoes, "colour"), truth.garment_boxes[shoes])
    top = int(np.flatnonzero(truth.item_values[:, 0] == vocabulary.CATEGORIES.index("top"))[0])
    sleeves = truth.region_part_boxes(truth.item_ids[top], "sleeve")
    assert sleeves.shape == (2, 4) and sleeves[0, 1] < 0.5 < sleeves[1, 3]  # left and right
    with pytest.raises(KeyError):
        truth.region_box(top, "fabric")


def test_outfits_follow_the_recorded_rules(world):
    truth = load_truth(world)
    rules = truth.outfit_rules
    items = {r["item_id"]: r for r in _read_csv(os.path.join(world, "items.csv"))}
    outfits = _read_csv(os.path.join(world, "outfits.csv"))
    assert len(outfits) == 4 * 80
    templates = [sorted(t) for t in rules["templates"]]
    clashes = {frozenset(p) for p in rules["clashing_colours"]}
    for o in outfits:
        parts = [items[o[k]] for k in ("item_1", "item_2", "item_3")]
        assert len({o["item_1"], o["item_2"], o["item_3"]}) == 3
        accents = {p["colour"] for p in parts} - set(rules["neutral_colours"])
        colours_ok = len(accents) <= rules["max_accent_colours"] and \
            not any(frozenset((a, b)) in clashes for a in accents for b in accents if a != b)
        compatible = sorted(p["category"] for p in parts) in templates and colours_ok
        assert o["compatible"] == str(int(compatible))
    labels = [o["violation"] for o in outfits]
    assert labels.count("") == 2 * 80
    assert labels.count("categories") > 20 and labels.count("colours") > 20


def test_refuses_to_overwrite_a_non_empty_folder(tmp_path):
    out = tmp_path / "world"
    config = SyntheticConfig(seed=1, **TINY)
    generate_world(str(out), config)
    before = (out / "interactions.csv").read_bytes()
    with pytest.raises(DataError, match="exists already"):
        generate_world(str(out), SyntheticConfig(seed=2, **TINY))
    assert (out / "interactions.csv").read_bytes() == before
    generate_world(str(out), SyntheticConfig(seed=2, **TINY), overwrite=True)
    assert (out / "interactions.csv").read_bytes() != before
    (tmp_path / "empty").mkdir()
    generate_world(str(tmp_path / "empty"), config)
    (tmp_path / "thesis").mkdir()                            # someone's folder: --overwrite keeps off
    (tmp_path / "thesis" / "thesis.txt").write_text("years of work")
    with pytest.raises(DataError, match="replaces only a synthetic world"):
        generate_world(str(tmp_path / "thesis"), config, overwrite=True)
    assert (tmp_path / "thesis" / "thesis.txt").read_text() == "years of work"
    assert sorted(os.listdir(tmp_path)) == ["empty", "thesis", "world"]  # no temp folders left behind
    with pytest.raises(ValueError, match="num_users"):
        generate_world(str(tmp_path / "bad"), SyntheticConfig(num_users=0))
    assert not (tmp_path / "bad").exists()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tfvisrec.data.synthetic", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_a_world_and_rejects_bad_flags(tmp_path):
    out = str(tmp_path / "cli")
    done = _cli("--out", out, "--num_users", "20", "--num_items", "36", "--image_size", "32",
                "--drift", "--outfits", "--seed", "2")
    assert done.returncode == 0, done.stderr
    line, = done.stdout.strip().splitlines()
    assert "20 users, 36 items" in line and "oracle AUC" in line
    assert load_truth(out).drift and os.path.exists(os.path.join(out, "outfits.csv"))
    for args, message in [(["--out", out], "exists already"),
                          (["--out", out + "2", "--num_users", "many"], "num_users"),
                          (["--out", out + "2", "--no_such_flag"], "no_such_flag"),
                          (["--out", out + "2", "--temperature", "0"], "temperature"),
                          ([], "--out")]:
        done = _cli(*args)
        assert done.returncode == 2, args
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
    assert not os.path.exists(out + "2")


def test_fashion_eras_change_the_trend_for_everyone_at_the_change_points(tmp_path):
    folder = generate_world(str(tmp_path / "eras"), SyntheticConfig(change_points="0.3,0.65", trend_scale=2.5,
                                                                     seed=5, **TINY))
    truth = load_truth(folder)
    start, end = truth.time_range
    np.testing.assert_allclose((truth.change_times - start) / (end - start), [0.3, 0.65], atol=1e-6)
    assert truth.era_trends.shape == (3, sum(len(v) for v in truth.attribute_values))
    colour = truth.attribute_names.index("colour")
    offset = truth.value_offsets[colour]
    in_fashion = [int(np.argmax(truth.era_trends[e, offset:offset + 8])) for e in range(3)]
    assert in_fashion[0] != in_fashion[1] != in_fashion[2]
    # the era's in-colour is +scale, the one before it −scale, for every shopper alike
    before, after = truth.utility_at(truth.change_times[0] - 1), truth.utility_at(truth.change_times[0])
    is_new = truth.item_values[:, colour] == in_fashion[1]
    is_old = truth.item_values[:, colour] == in_fashion[0]
    gain = after - before
    np.testing.assert_allclose(gain, np.broadcast_to(gain[0], gain.shape), atol=1e-5)    # the same for all
    block = truth.era_trends[1, offset:offset + 8]
    assert block[in_fashion[1]] == 2.5 and block[in_fashion[0]] == -2.5 and np.count_nonzero(block) == 2
    assert gain[0, is_new].mean() > 0 > gain[0, is_old].mean()
    # purchases follow: the in-colour's share of an era's purchases is highest in that era
    items, times = truth.interactions["items"], truth.interactions["times"]
    era = np.searchsorted(truth.change_times, times, side="right")
    for e in range(3):
        share = [np.mean(truth.item_values[items[era == k], colour] == in_fashion[e]) for k in range(3)]
        assert np.argmax(share) == e, (e, share)
    with pytest.raises(ValueError, match="change_points must be increasing fractions"):
        SyntheticConfig(change_points="0.6,0.2").validate()


def test_single_driver_shoppers_care_about_their_one_attribute(tmp_path):
    folder = generate_world(str(tmp_path / "drivers"), SyntheticConfig(drivers="sleeve, colour", seed=6, **TINY))
    truth = load_truth(folder)
    offsets = truth.value_offsets + [truth.weights_end.shape[1]]
    drivers = [truth.user_driver(u) for u in truth.user_ids]
    assert set(drivers) == {"sleeve", "colour"}
    for u, driver in enumerate(drivers):
        a = truth.attribute_names.index(driver)
        block = truth.weights_end[u, offsets[a]:offsets[a + 1]]
        assert (block > 0).sum() in (1, 2) and (block >= 0).all()           # liked values only
        assert np.count_nonzero(truth.weights_end[u]) == (block > 0).sum()  # nothing else counts
    # sleeve shoppers buy items with a sleeve they like far more often than the catalogue has them
    sleeve_users = [u for u, d in enumerate(drivers) if d == "sleeve"]
    liked = (truth.utility - truth.item_bias[None]) > 0
    bought = np.isin(truth.interactions["users"], sleeve_users)
    assert liked[truth.interactions["users"][bought], truth.interactions["items"][bought]].mean() > \
        2 * liked[sleeve_users].mean()
    assert load_truth(generate_world(str(tmp_path / "mixed"), SyntheticConfig(seed=6, **TINY))).user_driver(0) is None
    with pytest.raises(ValueError, match="unknown driving attribute 'fabric'"):
        SyntheticConfig(drivers="colour,fabric").validate()
    with pytest.raises(ValueError, match="drivers and drift do not mix"):
        SyntheticConfig(drivers="colour", drift=True).validate()
