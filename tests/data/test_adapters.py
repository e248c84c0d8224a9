"""Adapters (H&M, DVBPR .npy, labelled catalogue) on tiny files in their real layouts."""
import io
import os
import pickle
import tarfile
import time

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401
from tfvisrec.data.adapters.catalogue import ingest_catalogue
from tfvisrec.data.adapters.dvbpr_npy import ingest_dvbpr_npy
from tfvisrec.data.adapters.hm import ingest_hm, ingest_hm_catalogue
from tfvisrec.data.dataset import load_dataset, load_texts

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _jpeg(colour, size=(6, 9)):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------- H&M

HM_BUYS = {"c1": ["0108775015", "0110065001", "0108775015", "0214844002"],
           "c2": ["0108775015", "0110065001", "0214844002", "0300000001"],
           "c3": ["0110065001", "0300000001"]}


def _write_hm(folder):
    os.makedirs(folder)
    rows = ["t_dat,customer_id,article_id,price,sales_channel_id"]
    for c, articles in HM_BUYS.items():
        rows += [f"2019-05-{k + 10},{c},{a},0.03,2" for k, a in enumerate(articles)]
    (folder / "transactions_train_sample.csv").write_text("\n".join(rows) + "\n")
    header = ("article_id,prod_name,product_group_name,product_type_name,graphical_appearance_name,"
              "colour_group_name,perceived_colour_value_name,perceived_colour_master_name,"
              "department_name,index_name,index_group_name,section_name,garment_group_name,detail_desc")
    (folder / "articles_train_sample.csv").write_text("\n".join([
        header,
        '0108775015,Strap top,Garment Upper body,Vest top,Solid,Black,Dark,Black,Jersey Basic,'
        'Ladieswear,Ladieswear,Womens Basic,Jersey Basic,"Jersey top, narrow straps."',
        "0214844002,Rae Push,Underwear,Bra,Solid,Light Pink,Dusty Light,Pink,Casual Lingerie,"
        "Lingeries/Tights,Ladieswear,Womens Lingerie,Under-,",
        "0999999999,Never sold,Shoes,Boots,Solid,Black,Dark,Black,Shoes,Ladieswear,Ladieswear,"
        "Womens Shoes,Shoes,Boots.",
    ]) + "\n")
    with tarfile.open(folder / "images_120x180.tar", "w") as tar:
        for k, a in enumerate(sorted({a for v in HM_BUYS.values() for a in v})):
            _add(tar, f"images/{a[:3]}/{a}.jpg", _jpeg((60 * k, 20, 20)))


def test_hm_adapter_tiny(tmp_path):
    _write_hm(tmp_path / "hm")
    ds = load_dataset(ingest_hm(str(tmp_path / "hm"), str(tmp_path / "out"),
                                min_user_interactions=3, cold_threshold=2))
    assert ds.user_ids == ["c1", "c2"]  # c3 bought 2 articles; c1's repeat buy counts once
    assert ds.item_ids == ["0108775015", "0110065001", "0214844002", "0300000001"]
    assert len(ds.train) + len(ds.valid) + len(ds.test) == 7 and ds.has_time
    assert ds.categories == ["Garment Upper body", "Underwear"]
    np.testing.assert_array_equal(ds.category, [0, -1, 1, -1])  # no metadata → -1
    colour = ds.attribute_names.index("colour_group_name")
    assert ds.attribute_values[colour] == ["Black", "Light Pink"]
    np.testing.assert_array_equal(ds.attributes[:, colour], [0, -1, 1, -1])
    assert load_texts(ds.path) == ["Strap top. Jersey top, narrow straps.", "", "Rae Push", ""]
    images = ds.image_bytes()
    with tarfile.open(tmp_path / "hm" / "images_120x180.tar") as tar:
        assert images[2] == tar.extractfile("images/021/0214844002.jpg").read()
    assert ds.meta["adapter"] == "hm" and ds.meta["split"] == "leave_one_out"


@pytest.mark.parametrize("min_confidence,expected", [(0.6, [0, 1, 2, 0]), (0.8, [0, -1, 1, 0])])
def test_hm_adapter_fills_a_confident_category_predicted_from_the_photo(tmp_path, min_confidence, expected):
    """0110065001 (no metadata) predicted Shoes with 0.7: its category when 0.7 reaches the
    threshold (a new category then); 0300000001 predicted Garment Upper body with 0.9 gets it at
    both; the prediction for 0108775015, which has metadata, never overrides its own group."""
    from tfvisrec.data.adapters.hm_slots import PhotoPredictions, read_category_predictions
    _write_hm(tmp_path / "hm")
    groups = ["Garment Upper body", "Shoes", "Underwear"]
    predictions = PhotoPredictions(["0110065001", "0300000001", "0108775015"],
                                   [[0.2, 0.7, 0.1], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0]], groups, source="clf")
    ds = load_dataset(ingest_hm(str(tmp_path / "hm"), str(tmp_path / "out"), min_user_interactions=3,
                                cold_threshold=2, category_predictions=predictions,
                                category_min_confidence=min_confidence))
    assert ds.item_ids == ["0108775015", "0110065001", "0214844002", "0300000001"]
    assert ds.categories == ([*groups] if min_confidence < 0.7 else ["Garment Upper body", "Underwear"])
    np.testing.assert_array_equal(ds.category, expected)
    recorded = ds.meta["category_predictions"]
    assert recorded == {"classifier": "clf", "min_confidence": min_confidence, "articles_predicted": 3,
                        "purchased_articles_with_predicted_category": 2 if min_confidence < 0.7 else 1,
                        "file": "category_predictions.npz"}
    stored = read_category_predictions(ds.path)
    assert stored.article_ids == predictions.article_ids and list(stored.labels) == groups
    np.testing.assert_allclose(stored.probabilities, predictions.probabilities)


def test_hm_adapter_missing_photo(tmp_path):
    _write_hm(tmp_path / "hm")
    with tarfile.open(tmp_path / "hm" / "images_120x180.tar", "w") as tar:
        _add(tar, "images/010/0108775015.jpg", _jpeg((1, 2, 3)))
    from tfvisrec.data.errors import DataError
    with pytest.raises(DataError, match=r"image 'images/011/0110065001\.jpg' not found in archive"):
        ingest_hm(str(tmp_path / "hm"), str(tmp_path / "out"), min_user_interactions=3)
    assert sorted(os.listdir(tmp_path)) == ["hm"]
    no_images = load_dataset(ingest_hm(str(tmp_path / "hm"), str(tmp_path / "out"),
                                       min_user_interactions=3, with_images=False))
    assert not no_images.has_images and no_images.num_users == 2


def test_hm_catalogue_keeps_labelled_articles_with_a_photo(tmp_path):
    _write_hm(tmp_path / "hm")
    ds = load_dataset(ingest_hm_catalogue(str(tmp_path / "hm"), str(tmp_path / "out"),
                                          holdout_fractions=(0.5, 0.5, 0.0)))
    # 0999999999 has metadata but no photo; 0110065001 has a photo but no metadata
    assert ds.item_ids == ["0108775015", "0214844002"] and ds.num_users == 0
    assert ds.meta["kind"] == "catalogue" and ds.attribute_names[0] == "product_type_name"
    index_group = ds.attribute_names.index("index_group_name")
    assert ds.attribute_values[index_group] == ["Ladieswear"]
    assert sorted(ds.holdout_split.tolist()) == [0, 1]
    with tarfile.open(tmp_path / "hm" / "images_120x180.tar") as tar:
        assert ds.image_bytes()[1] == tar.extractfile("images/021/0214844002.jpg").read()
    from tfvisrec.data.errors import DataError
    with pytest.raises(DataError, match="missing columns"):
        (tmp_path / "hm" / "articles_train_sample.csv").write_text("article_id,prod_name\n1,x\n")
        ingest_hm_catalogue(str(tmp_path / "hm"), str(tmp_path / "again"))
    assert not os.path.exists(tmp_path / "again")


def _shared_hm():
    root = os.environ.get("TFVISREC_SHARED_DATA") or os.path.join(
        os.path.dirname(REPO_ROOT), "shared", "data")
    folder = os.path.join(root, "hm")
    return folder if os.path.isfile(os.path.join(folder, "images_120x180.tar")) else None


@pytest.mark.skipif(_shared_hm() is None, reason="real H&M data (../shared/data/hm) absent")
def test_hm_real_data_counts(tmp_path):
    start = time.time()
    ds = load_dataset(ingest_hm(_shared_hm(), str(tmp_path / "hm")))
    elapsed = time.time() - start
    assert ds.num_users == 887
    assert ds.num_items == 16581
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (24579, 887, 887)
    assert ds.meta["num_images"] == 16581 and len(ds.categories) == 12
    assert all(len(i) == 10 and i.isdigit() for i in ds.item_ids)
    np.testing.assert_array_equal(ds.train_count, np.bincount(ds.train.items, minlength=16581))
    print(f"H&M ingest: {elapsed:.1f}s, cold test items {int(ds.is_cold[ds.test.items].sum())}")


# ---------------------------------------------------------------- DVBPR .npy

def _write_dvbpr(path, str_keys=False, plain_ints=False):
    """A tiny file in the layout of AmazonFashion6ImgPartitioned.npy (Python-2 pickle)."""
    k = (lambda s: s) if str_keys else (lambda s: s.encode())

    def entry(user, item, t):
        if plain_ints:
            return item
        return {k("productid"): item, k("reviewerID"): f"R{user}".encode(), k("time"): t}

    train = {0: [entry(0, 0, 100), entry(0, 2, 101)], 1: [entry(1, 1, 102)], 2: [entry(2, 3, 103)]}
    valid = {0: [entry(0, 1, 104)], 1: [entry(1, 3, 105)], 2: [entry(2, 0, 106)]}
    test = {0: [entry(0, 3, 107)], 1: [entry(1, 2, 108)], 2: [entry(2, 2, 109)]}
    items = [{k("imgs"): _jpeg((50 * i, 0, 0)), k("c"): np.eye(3, dtype=np.int64)[i % 3].tolist(),
              k("asin"): f"B00{i}".encode()} for i in range(4)]
    data = np.empty(6, dtype=object)
    data[:] = [train, valid, test, items, 3, 4]
    with open(path, "wb") as f:  # np.save's layout, but with a protocol-2 pickle as Python 2 wrote
        np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(data))
        pickle.dump(data, f, protocol=2)
    return items


def test_dvbpr_npy_keeps_given_split(tmp_path):
    items = _write_dvbpr(tmp_path / "tiny.npy")
    ds = load_dataset(ingest_dvbpr_npy(str(tmp_path / "tiny.npy"), str(tmp_path / "out"),
                                       cold_threshold=2))
    assert ds.user_ids == ["R0", "R1", "R2"] and ds.item_ids == ["B000", "B001", "B002", "B003"]
    np.testing.assert_array_equal(ds.train.users, [0, 0, 1, 2])
    np.testing.assert_array_equal(ds.train.items, [0, 2, 1, 3])
    np.testing.assert_array_equal(ds.train.times, [100, 101, 102, 103])
    np.testing.assert_array_equal(ds.valid.items, [1, 3, 0])
    np.testing.assert_array_equal(ds.test.items, [3, 2, 2])
    assert ds.categories == ["0", "1", "2"]
    np.testing.assert_array_equal(ds.category, [0, 1, 2, 0])
    np.testing.assert_array_equal(ds.is_cold, [True, True, True, True])
    assert ds.image_bytes() == [it[b"imgs"] for it in items]
    assert ds.meta["split"] == "given" and ds.has_time


def test_dvbpr_npy_str_keys_and_plain_item_indices(tmp_path):
    _write_dvbpr(tmp_path / "a.npy", str_keys=True)
    _write_dvbpr(tmp_path / "b.npy", plain_ints=True)
    a = load_dataset(ingest_dvbpr_npy(str(tmp_path / "a.npy"), str(tmp_path / "oa")))
    b = load_dataset(ingest_dvbpr_npy(str(tmp_path / "b.npy"), str(tmp_path / "ob"),
                                      image_shards=1))
    np.testing.assert_array_equal(a.test.items, b.test.items)
    assert b.user_ids == ["0", "1", "2"] and not b.has_time
    np.testing.assert_array_equal(b.train.times, [-1] * 4)


# ---------------------------------------------------------------- catalogue

def _write_catalogue(folder, n=20):
    os.makedirs(folder / "images")
    colours = ["Red", "Blue", ""]
    rows = ["product_id,title,masterCategory,subCategory,articleType,baseColour,usage,image"]
    for i in range(n):
        pid = 1000 + i
        Image.new("RGB", (6, 8), (10 * i, 0, 0)).save(folder / "images" / f"{pid}.jpg")
        rows.append(f"{pid},Item {i},{'Apparel' if i % 2 else 'Footwear'},Topwear,Shirts,"
                    f"{colours[i % 3]},Casual,images/{pid}.jpg")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    with tarfile.open(folder / "images.tar.gz", "w:gz") as tar:
        tar.add(folder / "images", arcname="images")


def test_catalogue_adapter(tmp_path):
    _write_catalogue(tmp_path / "fpi")
    out = ingest_catalogue(str(tmp_path / "fpi" / "labels.csv"),
                           str(tmp_path / "fpi" / "images.tar.gz"), str(tmp_path / "cat"),
                           holdout_fractions=(0.7, 0.15, 0.15), seed=3)
    ds = load_dataset(out)
    assert ds.num_users == 0 and len(ds.train) == len(ds.valid) == len(ds.test) == 0
    assert ds.meta["kind"] == "catalogue" and ds.user_items() == []
    assert ds.item_ids == [str(1000 + i) for i in range(20)]
    assert ds.categories == ["Apparel", "Footwear"]
    assert ds.attribute_names == ["masterCategory", "subCategory", "articleType", "baseColour", "usage"]
    np.testing.assert_array_equal(ds.category, [1, 0] * 10)
    np.testing.assert_array_equal(ds.attributes[:, 3], [[1, 0, -1][i % 3] for i in range(20)])
    np.testing.assert_array_equal(ds.attributes[:, 0], ds.category)
    assert ds.holdout_split.dtype == np.int8
    np.testing.assert_array_equal(np.bincount(ds.holdout_split, minlength=3), [14, 3, 3])
    assert load_texts(out)[5] == "Item 5"
    # The extracted folder (either the folder holding images/ or images/ itself) gives the same.
    for images in (tmp_path / "fpi", tmp_path / "fpi" / "images"):
        other = load_dataset(ingest_catalogue(
            str(tmp_path / "fpi" / "labels.csv"), str(images), str(tmp_path / "c2"),
            holdout_fractions=(0.7, 0.15, 0.15), seed=3, overwrite=True))
        np.testing.assert_array_equal(other.holdout_split, ds.holdout_split)
        assert other.image_bytes() == ds.image_bytes()
