"""Outfit data: the synthetic outfit world, the Polyvore-U adapter (FHN's layout), the
outfits table's checks and the (positive, random negative) pipeline."""
import os

import numpy as np
import pytest

from tfvisrec.data.adapters.polyvore_u import ingest_polyvore_u
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.data.outfit_pipeline import outfit_pairs
from tfvisrec.data.outfits import EMPTY, load_outfits
from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world

SMALL = OutfitWorldConfig(num_users=6, items_per_slot=10, outfits_per_user=6, valid_per_user=1,
                          test_per_user=1, candidates=50)


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _polyvore(folder, posi_header="user,top,bottom,shoe", bad_row=None):
    """A tiny Polyvore-U `tuples_n` folder in FHN's layout (2 users; 3 tops, 2 bottoms, 2 shoes)."""
    os.makedirs(folder, exist_ok=True)
    for slot, count in (("top", 3), ("bottom", 2), ("shoe", 2)):
        _write(os.path.join(folder, f"image_list_{slot}"), "".join(f"{slot}{k}.jpg\n" for k in range(count)))
    rows = {"train": ["0,0,1,0", "0,1,0,1", "1,2,1,1"], "val": ["0,2,0,0"], "test": ["1,0,0,1"]}
    if bad_row:
        rows["train"].append(bad_row)
    for phase, lines in rows.items():
        _write(os.path.join(folder, f"tuples_{phase}_posi"), posi_header + "\n" + "\n".join(lines) + "\n")
        _write(os.path.join(folder, f"tuples_{phase}_nega"), "user,top,bottom,shoe\n1,1,1,0\n")
    _write(os.path.join(folder, "fill_in_blank_test"),
           ",".join(["user,top,bottom,shoe"] * 4) + "\n1,0,0,1,1,1,0,1,1,2,0,1,1,0,1,1\n")
    return folder


def test_polyvore_u_layout_becomes_an_outfit_dataset(tmp_path):
    src = _polyvore(str(tmp_path / "tuples_630"))
    ds = load_dataset(ingest_polyvore_u(src, str(tmp_path / "out")))
    table = load_outfits(ds)
    assert ds.item_ids[:4] == ["top/top0.jpg", "top/top1.jpg", "top/top2.jpg", "bottom/bottom0.jpg"]
    assert ds.user_ids == ["0", "1"]
    # per-slot indices shifted by the slots' blocks: tops 0-2, bottoms 3-4, shoes 5-6
    np.testing.assert_array_equal(table.positives["train"].items, [[0, 4, 5], [1, 3, 6], [2, 4, 6]])
    np.testing.assert_array_equal(table.positives["valid"].items, [[2, 3, 5]])
    np.testing.assert_array_equal(table.negatives["test"].items, [[1, 4, 5]])
    assert table.fitb_candidates.shape == (1, 4, 3) and table.fitb_users.tolist() == [1]
    np.testing.assert_array_equal(table.fitb_candidates[0, 2], [2, 3, 6])
    assert len(ds.train) == 9   # every item of the training outfits is an interaction


@pytest.mark.parametrize("header,bad_row,message", [
    ("user,top,top,bottom,shoe", None, "variable-length"),
    ("user,top,bottom,shoe", "0,5,0,0", "top index 5 is not in image_list_top"),
    ("user,top,bottom,shoe", "0,1,x,0", "non-integer"),
])
def test_polyvore_u_bad_files_name_file_and_row(tmp_path, header, bad_row, message):
    src = _polyvore(str(tmp_path / "t"), posi_header=header, bad_row=bad_row)
    with pytest.raises(DataError, match=message) as e:
        ingest_polyvore_u(src, str(tmp_path / "out"))
    assert "tuples_train_posi" in str(e.value) and "row" in str(e.value)
    assert not os.path.exists(tmp_path / "out")


def test_synthetic_outfits_follow_the_rules_and_the_taste(tmp_path):
    world = make_outfit_world(SMALL)
    table = load_outfits(load_dataset(write_outfit_world(world, str(tmp_path / "w"))))
    pos = table.positives["train"]
    assert world.compatible(pos.items).all()
    rng = np.random.default_rng(0)
    random = world.random_outfits(len(pos), rng)
    # shoppers picked outfits with the details they like, far above random ones
    assert world.utility(pos.users, pos.items).mean() > world.utility(pos.users, random).mean() + 0.8
    # the detail is written only in the item's detail region (flagged by the salience channel)
    c = SMALL
    flat = world.feature_maps.reshape(world.num_items, -1, world.feature_maps.shape[-1])
    salience = flat[:, :, c.num_colours + c.num_details]
    np.testing.assert_array_equal(np.argmax(salience, axis=1), world.detail_cell)
    # ... drawn there as strongly as the marker, so the channel max that PAN's spatial
    # attention convolves (eq. 3) is largest there; elsewhere a distractor as strong as a detail
    rows = np.arange(world.num_items)
    details = flat[:, :, c.num_colours:c.num_colours + c.num_details]
    np.testing.assert_allclose(details[rows, world.detail_cell, world.item_detail], c.salience)
    np.testing.assert_array_equal(np.argmax(flat.max(axis=2), axis=1), world.detail_cell)
    outside = np.ones(flat.shape[:2], bool)
    outside[rows, world.detail_cell] = False
    assert abs(details.max(axis=2)[outside].mean() - c.distractor) < 3 * c.noise


def test_synthetic_shoppers_share_a_taste_group_and_each_has_her_own():
    c = OutfitWorldConfig(num_users=12, items_per_slot=10, outfits_per_user=2, valid_per_user=0,
                          test_per_user=0, candidates=20, taste_groups=3, liked_details=2)
    taste = make_outfit_world(c).taste
    assert (taste.sum(axis=1) == 2).all()
    for u in range(c.num_users):
        shared = taste[u] * taste[u % c.taste_groups]
        assert shared.sum() >= 1            # the group's detail
    # different groups like different group details; shoppers of a group differ in their own
    assert len({tuple(taste[g]) for g in range(c.taste_groups)}) == c.taste_groups
    groups = [taste[u::c.taste_groups] for u in range(c.taste_groups)]
    assert all(len({tuple(t) for t in g}) > 1 for g in groups)
    with pytest.raises(ValueError, match="taste_groups"):
        make_outfit_world(OutfitWorldConfig(num_details=4, taste_groups=5))


def test_outfit_table_errors_name_the_outfit(tmp_path):
    world = make_outfit_world(SMALL)
    world.table.positives["train"].items[3, 1] = 0   # a top in the bottom slot
    with pytest.raises(DataError, match="train outfit 3: item 0 of slot 0 stands in slot 1"):
        write_outfit_world(world, str(tmp_path / "w"))
    assert not os.path.exists(tmp_path / "w")


def test_outfit_pairs_pipeline_is_seeded_and_mixes_slot_items(tmp_path):
    world = make_outfit_world(SMALL)
    ds = load_dataset(write_outfit_world(world, str(tmp_path / "w")))
    table = load_outfits(ds)
    a = list(outfit_pairs(ds, batch_size=8, seed=3, epoch=1))
    b = list(outfit_pairs(ds, batch_size=8, seed=3, epoch=1, start_batch=2))
    np.testing.assert_array_equal(a[2]["neg"]["item"], b[0]["neg"]["item"])
    np.testing.assert_array_equal(a[2]["pos"]["item"], b[0]["pos"]["item"])
    neg = np.concatenate([x["neg"]["item"].numpy() for x in a])
    assert (table.item_slot[neg] == np.arange(3)[None, :]).all() and (neg != EMPTY).all()
    seen = {tuple(r) for r in table.positives["train"].items.tolist()}
    pos = np.concatenate([x["pos"]["item"].numpy() for x in a])
    assert {tuple(r) for r in pos.tolist()} == seen   # one epoch visits every training outfit


def _write_tiny_hm(folder):
    """The H&M sample's layout: 2 tops, 2 bottoms, 1 pair of shoes, 1 article without metadata."""
    import io
    import tarfile
    from PIL import Image
    os.makedirs(folder)
    buys = [("2019-05-01", "c1", "0100000001"), ("2019-05-01", "c1", "0200000001"),
            ("2019-05-01", "c1", "0900000001"),                       # no metadata: no slot
            ("2019-05-03", "c1", "0100000002"), ("2019-05-08", "c1", "0200000002"),  # 5 days apart
            ("2019-06-01", "c1", "0100000001"), ("2019-06-01", "c1", "0200000002"),
            ("2019-06-01", "c1", "0300000001"),
            ("2019-05-02", "c2", "0100000002"), ("2019-05-05", "c2", "0200000001")]
    _write(os.path.join(folder, "transactions_train_sample.csv"),
           "t_dat,customer_id,article_id,price,sales_channel_id\n"
           + "".join(f"{d},{c},{a},0.01,2\n" for d, c, a in buys))
    groups = {"0100000001": "Garment Upper body", "0100000002": "Garment Upper body",
              "0200000001": "Garment Lower body", "0200000002": "Garment Lower body", "0300000001": "Shoes"}
    _write(os.path.join(folder, "articles_train_sample.csv"),
           "article_id,prod_name,product_group_name,detail_desc\n"
           + "".join(f'{a},name {a},{g},"desc of {a}"\n' for a, g in groups.items()))
    with tarfile.open(os.path.join(folder, "images_120x180.tar"), "w") as tar:
        for a in sorted({b[2] for b in buys}):
            data = io.BytesIO()
            Image.new("RGB", (6, 9), (int(a[-1]) * 40, 10, 10)).save(data, format="JPEG")
            info = tarfile.TarInfo(f"images/{a[:3]}/{a}.jpg")
            info.size = len(data.getvalue())
            tar.addfile(info, io.BytesIO(data.getvalue()))


C1 = [("0100000001", "0200000001", ""), ("0100000001", "0200000002", "0300000001")]


@pytest.mark.parametrize("window,expected", [
    (1, {"c1": C1}),                                            # c2's top and bottom: 3 days apart
    (7, {"c1": C1, "c2": [("0100000002", "0200000001", "")]}),
])
def test_hm_outfits_are_a_customers_session(tmp_path, window, expected):
    from tfvisrec.data.adapters.hm_outfits import ingest_hm_outfits
    from tfvisrec.data.dataset import load_texts
    _write_tiny_hm(str(tmp_path / "hm"))
    ds = load_dataset(ingest_hm_outfits(str(tmp_path / "hm"), str(tmp_path / "out"), window_days=window))
    table = load_outfits(ds)
    got = {}
    for split in ("train", "valid", "test"):
        for u, row in zip(table.positives[split].users, table.positives[split].items):
            got.setdefault(ds.user_ids[u], []).append(tuple(ds.item_ids[i] if i >= 0 else "" for i in row))
    assert {u: sorted(v) for u, v in got.items()} == expected
    assert "0900000001" not in ds.item_ids and ds.has_images
    assert load_texts(ds.path)[ds.item_ids.index("0300000001")] == "name 0300000001. desc of 0300000001"


@pytest.mark.parametrize("min_confidence,shoes", [(0.6, "0900000001"), (0.8, "")])
def test_hm_outfits_take_a_confident_slot_predicted_from_the_photo(tmp_path, min_confidence, shoes):
    """The article without metadata (bought with c1's first top and bottom) predicted shoes with
    probability 0.7: it fills the outfit's shoes slot when 0.7 reaches the threshold; a
    prediction for a labelled article never overrides its product group (c2's top stays)."""
    from tfvisrec.data.adapters.hm_outfits import ingest_hm_outfits
    from tfvisrec.data.adapters.hm_slots import SlotPredictions, read_slot_predictions, unlabelled_articles
    _write_tiny_hm(str(tmp_path / "hm"))
    assert unlabelled_articles(str(tmp_path / "hm")) == ["0900000001"]
    predictions = SlotPredictions(["0900000001", "0100000002"], [[0.1, 0.1, 0.7, 0.1], [0.0, 0.0, 0.9, 0.1]],
                                  source="clf")
    ds = load_dataset(ingest_hm_outfits(str(tmp_path / "hm"), str(tmp_path / "out"), window_days=7,
                                        slot_predictions=predictions, min_confidence=min_confidence))
    table = load_outfits(ds)
    outfits = {tuple(ds.item_ids[i] if i >= 0 else "" for i in row)
               for split in ("train", "valid", "test") for row in table.positives[split].items}
    assert outfits == {("0100000001", "0200000001", shoes), C1[1], ("0100000002", "0200000001", "")}
    recorded = ds.meta["slot_predictions"]
    assert recorded["classifier"] == "clf" and recorded["min_confidence"] == min_confidence
    assert recorded["items_with_predicted_slot"] == (1 if shoes else 0)
    stored = read_slot_predictions(ds.path)
    assert stored.article_ids == predictions.article_ids and stored.source == "clf"
    np.testing.assert_allclose(stored.probabilities, predictions.probabilities)


def test_hm_outfits_cli_reads_slot_predictions_and_names_a_missing_file(tmp_path):
    import subprocess
    import sys
    from tfvisrec.data.adapters.hm_slots import SlotPredictions, read_slot_predictions
    _write_tiny_hm(str(tmp_path / "hm"))
    np.savez(tmp_path / "p.npz", **SlotPredictions(["0900000001"], [[0.1, 0.1, 0.7, 0.1]], "clf").arrays())
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def cli(predictions, out):
        return subprocess.run([sys.executable, "-m", "tfvisrec.data", "hm_outfits", f"--hm_dir={tmp_path / 'hm'}",
                               f"--out={tmp_path / out}", f"--slot_predictions={predictions}",
                               "--slot_min_confidence=0.6"], cwd=root, env=env, capture_output=True,
                              text=True, timeout=120)
    with pytest.raises(DataError, match="nope.npz: no photo predictions"):
        read_slot_predictions(str(tmp_path / "nope.npz"))
    (tmp_path / "notes.npz").write_text("not numpy")
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object))   # numpy refuses pickles
    for other in ("notes.npz", "pickled.npy"):
        with pytest.raises(DataError, match=f"{other}: not a photo predictions file"):
            read_slot_predictions(str(tmp_path / other))
    done = cli(tmp_path / "p.npz", "good")
    assert done.returncode == 0, done.stderr
    ds = load_dataset(str(tmp_path / "good"))
    assert "0900000001" in ds.item_ids and ds.meta["slot_predictions"]["min_confidence"] == 0.6
