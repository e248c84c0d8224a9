"""`ingest`: canonical CSVs + images → dataset folder, checked against hand/numpy references."""
import io
import json
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401
from tfvisrec.data import schema
from tfvisrec.data.dataset import load_dataset, load_texts
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import MAX_STORED_SIDE
from tfvisrec.data.ingest import ingest

# user → [(item, day)]; u3 has 2 items only (dropped by min 3); u0 bought 0042 twice.
PURCHASES = {
    "u0": [("0042", 5), ("007", 1), ("0042", 2), ("100", 3)],
    "u1": [("007", 4), ("100", 4), ("200", 6), ("0042", 1)],
    "u2": [("200", 2), ("300", 3), ("007", 9)],
    "u3": [("007", 1), ("300", 2)],
}
ITEMS = [  # item_id, image file, category, colour, pattern, text
    ("007", "a/007.jpg", "top", "red", "plain", "A red top"),
    ("0042", "a/0042.png", "top", "blue", "", "Blue top"),
    ("100", "b/100.jpg", "shoe", "", "dots", ""),
    ("200", "b/200.jpg", "shoe", "red", "plain", "Shoe"),
    ("300", "b/300.jpg", "", "green", "dots", "Green"),
    ("999", "b/999.jpg", "bag", "black", "plain", "never bought"),
]


def _image(path, colour, fmt):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGB", (6, 9), colour).save(path, format=fmt)


def write_world(root, with_time=True, time_format="day"):
    root = str(root)
    with open(os.path.join(root, "interactions.csv"), "w") as f:
        f.write("user_id,item_id" + (",timestamp" if with_time else "") + "\n")
        for user, bought in PURCHASES.items():
            for item, day in bought:
                stamp = {"day": f"2021-03-{day:02d}", "unix": str(1_600_000_000 + day * 86400),
                         "datetime": f"2021-03-{day:02d}T12:30:00"}[time_format]
                f.write(f"{user},{item}" + (f",{stamp}" if with_time else "") + "\n")
    images = os.path.join(root, "images")
    with open(os.path.join(root, "items.csv"), "w") as f:
        f.write("item_id,image,category,colour,pattern,text\n")
        for k, (item, image, cat, colour, pattern, text) in enumerate(ITEMS):
            _image(os.path.join(images, image), (40 * k, 100, 200), "PNG" if image.endswith("png") else "JPEG")
            f.write(f"{item},{image},{cat},{colour},{pattern},{text}\n")
    return root, images


def test_ingest_vocabularies_labels_and_images(tmp_path):
    root, images = write_world(tmp_path)
    out = ingest(os.path.join(root, "interactions.csv"), os.path.join(root, "items.csv"),
                 images, str(tmp_path / "ds"), split="temporal", min_user_interactions=3,
                 cold_threshold=2)
    ds = load_dataset(out)
    assert ds.user_ids == ["u0", "u1", "u2"]                  # u3 filtered (2 items)
    assert ds.item_ids == ["0042", "007", "100", "200", "300"]  # sorted strings, zeros kept
    assert ds.categories == ["shoe", "top"]
    assert ds.attribute_names == ["colour", "pattern"]
    assert ds.attribute_values == [["blue", "green", "red"], ["dots", "plain"]]
    np.testing.assert_array_equal(ds.category, [1, 1, 0, 0, -1])
    np.testing.assert_array_equal(ds.attributes, [[0, -1], [2, 1], [-1, 0], [2, 1], [1, 0]])
    assert load_texts(out) == ["Blue top", "A red top", "", "Shoe", "Green"]
    # Temporal: u0 has 0042 at days 2 (earliest kept), 1, 3 → test 100 (day 3), valid 0042.
    day = lambda d: int(np.datetime64(f"2021-03-{d:02d}").astype("datetime64[s]").astype(np.int64))
    test = set(zip(ds.test.users.tolist(), ds.test.items.tolist(), ds.test.times.tolist()))
    assert test == {(0, 2, day(3)), (1, 3, day(6)), (2, 1, day(9))}
    valid = set(zip(ds.valid.users.tolist(), ds.valid.items.tolist()))
    assert valid == {(0, 0), (1, 2), (2, 4)}   # u1: 007 and 100 tie at day 4 → 100 later
    assert len(ds.train) == 10 - 6
    expected_counts = np.bincount(ds.train.items, minlength=5)
    np.testing.assert_array_equal(ds.train_count, expected_counts)
    np.testing.assert_array_equal(ds.is_cold, expected_counts < 2)
    meta = ds.meta
    assert (meta["split"], meta["kind"], meta["has_time"], meta["cold_threshold"]) == \
        ("temporal", "interactions", True, 2)
    assert meta["min_user_interactions"] == 3 and meta["num_raw_interactions"] == 13
    assert meta["num_cold_test"] == int(ds.is_cold[ds.test.items].sum())
    # JPEGs are kept byte for byte; the PNG is re-encoded as JPEG of the same picture.
    stored = ds.image_bytes()
    with open(os.path.join(images, "a/007.jpg"), "rb") as f:
        assert stored[1] == f.read()
    assert stored[0][:3] == b"\xff\xd8\xff"
    decoded = np.asarray(Image.open(io.BytesIO(stored[0])))
    np.testing.assert_allclose(decoded.reshape(-1, 3).mean(0), [40, 100, 200], atol=3)


def test_a_photo_with_an_exif_orientation_is_stored_turned(tmp_path):
    """A camera held upright stores landscape pixels and EXIF orientation 6 (turn 90°
    clockwise to view); TensorFlow's decoders ignore EXIF, so ingest stores it turned."""
    root, images = write_world(tmp_path)
    photo = Image.new("RGB", (30, 45), (40, 100, 200))
    photo.paste((250, 250, 0), (0, 0, 30, 10))            # yellow along the stored top edge
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(os.path.join(images, "a/007.jpg"), exif=exif, quality=95)
    ds = load_dataset(ingest(os.path.join(root, "interactions.csv"), os.path.join(root, "items.csv"),
                             images, str(tmp_path / "ds"), min_user_interactions=3))
    with Image.open(io.BytesIO(ds.image_bytes()[1])) as stored:
        assert stored.size == (45, 30) and stored.getexif().get(0x0112) in (None, 1)
        blue = np.asarray(stored.convert("RGB"), np.float32)[..., 2]
    assert blue[:, -8:].mean() < 30 and blue[:, :8].mean() > 170  # the yellow edge is on the right


def test_a_camera_sized_photo_is_stored_scaled_down(tmp_path):
    """A 4000 × 6000 product photo kept whole costs every later stage ~0.6 s to decode and its
    megabytes in memory (a 20k catalogue: ~100 GB); the models read at most 224 px."""
    root, images = write_world(tmp_path)
    Image.new("RGB", (MAX_STORED_SIDE + 500, 2 * MAX_STORED_SIDE), (40, 100, 200)).save(
        os.path.join(images, "b/100.jpg"))
    ds = load_dataset(ingest(os.path.join(root, "interactions.csv"), os.path.join(root, "items.csv"),
                             images, str(tmp_path / "ds"), min_user_interactions=3))
    with Image.open(io.BytesIO(ds.image_bytes()[2])) as stored:
        assert stored.size == ((MAX_STORED_SIDE + 500) // 2, MAX_STORED_SIDE)
        np.testing.assert_allclose(np.asarray(stored).reshape(-1, 3).mean(0), [40, 100, 200], atol=3)


def test_leave_one_out_is_seeded_and_complete(tmp_path):
    root, images = write_world(tmp_path, with_time=False)
    args = (os.path.join(root, "interactions.csv"),)
    a = load_dataset(ingest(*args, out_dir=str(tmp_path / "a"), min_user_interactions=3, seed=4))
    b = load_dataset(ingest(*args, out_dir=str(tmp_path / "b"), min_user_interactions=3, seed=4))
    for name in ("train", "valid", "test"):
        np.testing.assert_array_equal(a.split(name).users, b.split(name).users)
        np.testing.assert_array_equal(a.split(name).items, b.split(name).items)
        np.testing.assert_array_equal(a.split(name).times, np.full(len(a.split(name)), -1))
    assert sorted(a.test.users.tolist()) == [0, 1, 2] and sorted(a.valid.users.tolist()) == [0, 1, 2]
    pairs = {(u, i) for s in ("train", "valid", "test")
             for u, i in zip(a.split(s).users.tolist(), a.split(s).items.tolist())}
    expected = {(a.user_ids.index(u), a.item_ids.index(i))
                for u, bought in PURCHASES.items() if u != "u3" for i, _ in bought}
    assert pairs == expected and len(a.train) + 6 == len(expected)
    assert not a.has_images and not a.has_time and a.meta["seed"] == 4
    assert a.categories == [] and a.attributes.shape == (5, 0)


@pytest.mark.parametrize("time_format", ["unix", "datetime"])
def test_timestamp_formats(tmp_path, time_format):
    root, _ = write_world(tmp_path, time_format=time_format)
    ds = load_dataset(ingest(os.path.join(root, "interactions.csv"), out_dir=str(tmp_path / "o"),
                             split="temporal", min_user_interactions=3))
    offset = 1_600_000_000 if time_format == "unix" else \
        int(np.datetime64("2021-03-01T12:30:00", "s").astype(np.int64)) - 86400
    expected = {(0, 2, offset + 3 * 86400), (1, 3, offset + 6 * 86400), (2, 1, offset + 9 * 86400)}
    assert set(zip(ds.test.users.tolist(), ds.test.items.tolist(), ds.test.times.tolist())) == expected


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_text_encodings_with_a_byte_order_mark(tmp_path, encoding):
    """CSVs saved with a byte-order mark (Excel's UTF-8, PowerShell's UTF-16 `>`) and CRLF
    read as the plain UTF-8 file; UTF-16 used to be refused as "not UTF-8 text"."""
    root, images = write_world(tmp_path)
    for name in ("interactions.csv", "items.csv"):
        path = os.path.join(root, name)
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("u1,", "Zoë 李,")
        with open(path, "w", encoding=encoding, newline="\r\n") as f:
            f.write(("\ufeff" if encoding == "utf-16-be" else "") + text)
    ds = load_dataset(ingest(os.path.join(root, "interactions.csv"), os.path.join(root, "items.csv"),
                             images, str(tmp_path / "ds"), min_user_interactions=3))
    assert ds.user_ids == ["Zoë 李", "u0", "u2"]
    assert ds.item_ids == ["0042", "007", "100", "200", "300"] and ds.meta["num_images"] == 5


def test_images_from_tar_and_default_folder(tmp_path):
    root, images = write_world(tmp_path)
    archive = str(tmp_path / "images.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(images, arcname=".")
    from_tar = load_dataset(ingest(os.path.join(root, "interactions.csv"),
                                   os.path.join(root, "items.csv"), archive,
                                   str(tmp_path / "t"), min_user_interactions=3))
    # Without an images path, image paths are relative to the folder of items.csv.
    with open(os.path.join(root, "items2.csv"), "w") as f:
        f.write("item_id,image\n" + "".join(f"{i},images/{p}\n" for i, p, *_ in ITEMS))
    from_csv_dir = load_dataset(ingest(os.path.join(root, "interactions.csv"),
                                       os.path.join(root, "items2.csv"), None,
                                       str(tmp_path / "d"), min_user_interactions=3))
    assert from_tar.image_bytes() == from_csv_dir.image_bytes()
    assert from_tar.meta["num_images"] == 5 and len(from_tar.image_shards()) == 4


def _world_with_item_100_photoless(tmp_path):
    root, images = write_world(tmp_path)
    with open(os.path.join(root, "items.csv")) as f:
        lines = f.read().splitlines()
    lines[3] = lines[3].replace("b/100.jpg", "")
    with open(os.path.join(root, "items.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return root, images


def test_items_without_image_allowed_unless_required(tmp_path):
    root, images = _world_with_item_100_photoless(tmp_path)
    ds = load_dataset(ingest(os.path.join(root, "interactions.csv"),
                             os.path.join(root, "items.csv"), images, str(tmp_path / "o"),
                             min_user_interactions=3, image_shards=2))
    assert ds.has_images and ds.meta["num_images"] == 4
    with pytest.raises(DataError, match=r"1 of the 5 items have no image \(first: '100'\); .* name one "
                                        r"in the items file for each and ingest again \(with --require_images"):
        ds.image_bytes()


def test_blank_photos_give_items_without_one_a_plain_grey_photo(tmp_path):
    """So that a shop with a few items not yet photographed can train the visual models."""
    root, images = _world_with_item_100_photoless(tmp_path)
    args = (os.path.join(root, "interactions.csv"), os.path.join(root, "items.csv"), images)
    ds = load_dataset(ingest(*args, str(tmp_path / "o"), min_user_interactions=3, blank_photos=True))
    assert ds.meta["num_images"] == 5 and ds.meta["num_blank_photos"] == 1
    stored = ds.image_bytes()
    blank = np.asarray(Image.open(io.BytesIO(stored[ds.item_ids.index("100")])))
    assert blank.shape == (64, 64, 3) and np.abs(blank.astype(int) - 238).max() <= 1
    with open(os.path.join(images, "a/007.jpg"), "rb") as f:
        assert stored[ds.item_ids.index("007")] == f.read()
    with pytest.raises(DataError, match="--blank_photos and --require_images contradict each other"):
        ingest(*args, str(tmp_path / "both"), min_user_interactions=3, blank_photos=True, require_images=True)
    with pytest.raises(DataError, match="no item names a photo"):
        ingest(args[0], None, None, str(tmp_path / "none"), min_user_interactions=3, blank_photos=True)
    assert not os.path.exists(tmp_path / "both") and not os.path.exists(tmp_path / "none")


def test_overwrite_replaces_folder(tmp_path):
    root, _ = write_world(tmp_path, with_time=False)
    out = str(tmp_path / "o")
    ingest(os.path.join(root, "interactions.csv"), out_dir=out, min_user_interactions=3, seed=1)
    ingest(os.path.join(root, "interactions.csv"), out_dir=out, min_user_interactions=4,
           overwrite=True)
    with open(os.path.join(out, schema.META_FILE)) as f:
        meta = json.load(f)
    assert meta["min_user_interactions"] == 4 and meta["num_users"] == 1
    assert sorted(os.listdir(tmp_path)) == ["images", "interactions.csv", "items.csv", "o"]


def test_overwrite_replaces_only_a_dataset(tmp_path):
    root, _ = write_world(tmp_path, with_time=False)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    (tmp_path / "afile").write_text("a file")
    for out, refusal in ((precious, "replaces only a dataset"), (tmp_path / "afile", "not a folder")):
        with pytest.raises(DataError, match=refusal):
            ingest(os.path.join(root, "interactions.csv"), out_dir=str(out), min_user_interactions=3,
                   overwrite=True)
    assert (precious / "thesis.txt").read_text() == "years of work" and os.listdir(precious) == ["thesis.txt"]
    assert (tmp_path / "afile").read_text() == "a file"
    (tmp_path / "empty").mkdir()
    ingest(os.path.join(root, "interactions.csv"), out_dir=str(tmp_path / "empty"), min_user_interactions=3,
           overwrite=True)
    assert os.path.exists(tmp_path / "empty" / schema.META_FILE)


def test_attributes_keeps_only_the_named_columns(tmp_path):
    """A shop's items.csv has columns that are no attribute (a price, a stock count)."""
    root, images = write_world(tmp_path)
    args = (os.path.join(root, "interactions.csv"), os.path.join(root, "items.csv"), images)
    kw = dict(min_user_interactions=3, cold_threshold=2)
    ds = load_dataset(ingest(*args, str(tmp_path / "pattern"), attribute_columns=["pattern"], **kw))
    assert ds.attribute_names == ["pattern"] and ds.attribute_values == [["dots", "plain"]]
    np.testing.assert_array_equal(ds.attributes, [[-1], [1], [0], [1], [0]])
    assert load_dataset(ingest(*args, str(tmp_path / "none"), attribute_columns=[], **kw)).attribute_names == []
    with pytest.raises(DataError, match="missing column 'price'"):
        ingest(*args, str(tmp_path / "price"), attribute_columns=["price"], **kw)
    with pytest.raises(DataError, match="column 'image' cannot be an attribute"):
        ingest(*args, str(tmp_path / "image"), attribute_columns=["colour", "image"], **kw)
    assert not os.path.exists(tmp_path / "price") and not os.path.exists(tmp_path / "image")
