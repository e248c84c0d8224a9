"""Real Fashion Product Images (../shared/data): 60×80 JPEGs padded to 64 px, one classifier step.

Skips when the shared data folder is absent (a fresh clone has none).
"""
import os
import tarfile

import numpy as np
import pytest

from tfvisrec.data import dataset as dataset_lib

ATTRIBUTES = ["masterCategory", "subCategory", "articleType", "baseColour", "usage"]


def _shared():
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("TFVISREC_SHARED_DATA") or os.path.join(os.path.dirname(repo_root), "shared", "data")
    folder = os.path.join(path, "fashion-product-images")
    return folder if os.path.exists(os.path.join(folder, "labels.csv")) else None


@pytest.fixture(scope="module")
def real_catalogue(tmp_path_factory):
    folder = _shared()
    if folder is None:
        pytest.skip("../shared/data/fashion-product-images is not here")
    import pandas as pd
    labels = pd.read_csv(os.path.join(folder, "labels.csv"), dtype={"product_id": str})
    wanted = set(labels["image"])
    jpegs = {}
    with tarfile.open(os.path.join(folder, "images.tar.gz"), "r|gz") as archive:
        for member in archive:
            if member.isfile() and member.name.lstrip("./") in wanted:
                jpegs[member.name.lstrip("./")] = archive.extractfile(member).read()
                if len(jpegs) == 48:
                    break
    rows = labels[labels["image"].isin(jpegs)].reset_index(drop=True)
    values = [sorted(rows[a].unique()) for a in ATTRIBUTES]
    codes = np.stack([rows[a].map({v: k for k, v in enumerate(vs)}).to_numpy() for a, vs in zip(ATTRIBUTES, values)], 1)
    items = dataset_lib.item_table(len(rows), np.zeros(0, np.int64), attributes=codes)
    items["holdout_split"] = (np.arange(len(rows)) % 4 == 3).astype(np.int8)
    empty = dataset_lib.Split(*(np.zeros(0, np.int64) for _ in range(3)))
    path = dataset_lib.write_dataset(
        str(tmp_path_factory.mktemp("real") / "catalogue"),
        {"name": "fashion-product-images-sample", "kind": "catalogue",
         "attributes": {"names": ATTRIBUTES, "values": [[str(v) for v in vs] for vs in values]}},
        [], list(rows["product_id"]), {"train": empty, "valid": empty, "test": empty}, items,
        images=[jpegs[name] for name in rows["image"]], num_shards=1)
    return dataset_lib.load_dataset(path)


def test_real_images_keep_their_aspect_and_train_one_step(real_catalogue):
    import tensorflow as tf
    import tf_keras as keras
    from tfvisrec.models import registry
    from tfvisrec.data.catalogue_pipeline import make_attribute_dataset
    from tfvisrec.models.base import DataInfo
    from tfvisrec.models.attributes import AttributeClassifier

    batch = next(iter(make_attribute_dataset(real_catalogue, "train", 16, 64, training=True)))
    images = batch["image"].numpy()
    assert images.shape == (16, 64, 64, 3)
    # 60×80 portraits scale to 48×64: 8 columns of padding (black, -1) on each side.
    np.testing.assert_array_equal(images[:, :, :8], -1.0)
    np.testing.assert_array_equal(images[:, :, -8:], -1.0)
    assert images[:, :, 8:-8].std() > 0.1
    config = registry.new_config("attributes", image_size=64, fc_width=64, dropout=0.0, weight_decay=0.0)
    keras.utils.set_random_seed(0)
    model = AttributeClassifier(DataInfo.from_dataset(real_catalogue), config)
    model.prepare(real_catalogue)
    optimizer = keras.optimizers.Adam(1e-3)
    before = float(model.compute_loss(batch, training=False))
    for _ in range(5):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch, training=True)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    assert float(model.compute_loss(batch, training=False)) < before
    accuracy = model.per_attribute_accuracy(real_catalogue, "valid")
    assert list(accuracy) == ATTRIBUTES and all(0.0 <= v <= 1.0 for v in accuracy.values())
