"""Fashion-MNIST adapter: a release laid out as the four IDX files (made here, tiny), and the
real one when the Debian package is installed."""
import gzip
import os

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data.adapters import fashion_mnist
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.data.images import decode_to_uint8


def _idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _release(folder, train=8, test=4, seed=0):
    rng = np.random.default_rng(seed)
    parts = {}
    for part, n in (("train", train), ("test", test)):
        images = np.zeros((n, 28, 28), np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        for k in range(n):  # a flat grey square whose brightness tells the item apart
            images[k, 6:22, 6:22] = 40 + 20 * k
        image_file, label_file = fashion_mnist.FILES[part]
        _idx(os.path.join(folder, image_file), images, 2051)
        _idx(os.path.join(folder, label_file), labels, 2049)
        parts[part] = (images, labels)
    return parts


def test_a_release_becomes_a_catalogue_with_classes_splits_and_images(tmp_path):
    parts = _release(tmp_path)
    out = fashion_mnist.ingest_fashion_mnist(str(tmp_path), str(tmp_path / "ds"), valid_fraction=0.25)
    ds = load_dataset(out)
    assert ds.num_users == 0 and ds.num_items == 12
    assert ds.categories == list(fashion_mnist.CLASS_NAMES) and ds.attribute_names == ["class"]
    labels = np.concatenate([parts["train"][1], parts["test"][1]])
    np.testing.assert_array_equal(ds.category, labels)
    np.testing.assert_array_equal(ds.attributes[:, 0], labels)
    assert ds.item_ids[0] == "train-00000" and ds.item_ids[8] == "test-00000"
    holdout = np.asarray(ds.holdout_split)
    assert (holdout[:8] == 1).sum() == 2 and set(holdout[:8]) == {0, 1} and (holdout[8:] == 2).all()
    jpegs = ds.image_bytes()
    for k, want in ((3, parts["train"][0][3]), (9, parts["test"][0][1])):
        got = decode_to_uint8(tf.constant(jpegs[k]), 28).numpy()
        assert got.shape == (28, 28, 3)
        assert np.abs(got[..., 0].astype(float) - want).mean() < 3   # greyscale JPEG, 28 px as stored


def test_bad_releases_are_named_with_what_is_wrong(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.ingest_fashion_mnist(str(tmp_path), str(tmp_path / "ds"))
    _release(tmp_path)
    images_file = os.path.join(tmp_path, fashion_mnist.FILES["test"][0])
    with gzip.open(images_file, "rb") as f:
        data = f.read()
    with gzip.open(images_file, "wb") as f:
        f.write(data[:-5])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: truncated or padded"):
        fashion_mnist.ingest_fashion_mnist(str(tmp_path), str(tmp_path / "ds"))
    _idx(images_file, np.zeros((4, 28, 28)), 2049)
    with pytest.raises(DataError, match="magic number 2049, expected 2051"):
        fashion_mnist.ingest_fashion_mnist(str(tmp_path), str(tmp_path / "ds"))
    _idx(images_file, np.zeros((3, 28, 28)), 2051)
    with pytest.raises(DataError, match="3 images but 4 labels"):
        fashion_mnist.ingest_fashion_mnist(str(tmp_path), str(tmp_path / "ds"))
    assert not os.path.exists(tmp_path / "ds")


@pytest.mark.skipif(not os.path.isdir(fashion_mnist.DEFAULT_SOURCE),
                    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
def test_the_installed_release_reads_with_its_ten_balanced_classes(tmp_path):
    out = fashion_mnist.ingest_fashion_mnist(fashion_mnist.DEFAULT_SOURCE, str(tmp_path / "ds"), limit=500)
    ds = load_dataset(out)
    assert ds.num_items == 1000
    counts = np.bincount(ds.category, minlength=10)
    assert counts.min() > 60 and counts.max() < 140   # the release is balanced: 100 each on average
