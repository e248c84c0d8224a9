"""The outfit slot or product group from the photo: the classifier's type probabilities summed
per group (the tiny catalogue's `colour` head standing in for H&M's product type), held out and
on the unlabelled articles of an H&M-layout folder."""
import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data import images as images_lib
from tfvisrec.data.errors import DataError
from tfvisrec.vision.type_groups import SlotClassifier, confusion_matrix, predict_hm_groups, predict_hm_slots

pytestmark = pytest.mark.xdist_group("vision_trained_run")   # share one training run

SLOT_OF_COLOUR = {"red": "top", "green": "top", "blue": "shoes"}


def _reference(model, jpegs):
    """P(slot) by hand: [p_red + p_green, 0, p_blue, 0]."""
    decoded = images_lib.normalise(tf.stack([images_lib.decode_to_uint8(b, 32) for b in jpegs]))
    p = model.attribute_probabilities(decoded)[0].numpy()
    return np.stack([p[:, 0] + p[:, 1], 0 * p[:, 0], p[:, 2], 0 * p[:, 0]], axis=1)


def test_slot_probabilities_sum_the_type_probabilities_of_each_slot(trained_run, catalogue):
    model_dir, model = trained_run
    classifier = SlotClassifier(model_dir, SLOT_OF_COLOUR, type_attribute="colour")
    jpegs = catalogue.image_bytes()[:20]
    np.testing.assert_allclose(classifier.jpeg_probabilities(jpegs, batch_size=8), _reference(model, jpegs),
                               rtol=1e-4, atol=1e-5)
    true, probs = classifier.held_out(catalogue, "test")
    test = catalogue.attributes[:, 0][(np.asarray(catalogue.holdout_split) == 2)]
    np.testing.assert_array_equal(true, np.where(test == 2, 2, 0))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    matrix = confusion_matrix(true, probs.argmax(axis=1))
    assert matrix.sum() == len(true) and matrix[0].sum() == np.sum(true == 0)
    with pytest.raises(DataError, match=r"1 product types .*\(first: .blue.\)"):
        SlotClassifier(model_dir, {"red": "top", "green": "bottom"}, type_attribute="colour")
    with pytest.raises(DataError, match="no 'product_type_name' head .*colour, shape, usage"):
        SlotClassifier(model_dir, SLOT_OF_COLOUR)


def test_the_unlabelled_hm_articles_are_classified_by_their_own_photo(trained_run, catalogue, tmp_path):
    """Two bought articles without metadata, each with another catalogue photo: each gets the
    slot probabilities of its own photo; the colour → slot map comes from the articles CSV."""
    model_dir, model = trained_run
    hm = tmp_path / "hm"
    hm.mkdir()
    photos = {"0100000001": 0, "0200000001": 1, "0900000001": 2, "0900000002": 3}
    (hm / "transactions_train_sample.csv").write_text(
        "t_dat,customer_id,article_id\n" + "".join(f"2019-05-01,c1,{a}\n" for a in photos))
    (hm / "articles_train_sample.csv").write_text(
        "article_id,colour,product_group_name\n0100000001,red,Garment Upper body\n"
        "0200000001,green,Garment Lower body\n0300000001,blue,Accessories\n")
    jpegs = catalogue.image_bytes()
    with tarfile.open(hm / "images_120x180.tar", "w") as tar:
        for a, k in photos.items():
            info = tarfile.TarInfo(f"images/{a[:3]}/{a}.jpg")
            info.size = len(jpegs[k])
            tar.addfile(info, io.BytesIO(jpegs[k]))
    predictions = predict_hm_slots(str(model_dir), str(hm), type_attribute="colour")
    assert predictions.article_ids == ["0900000001", "0900000002"]
    p = model.attribute_probabilities(images_lib.normalise(tf.stack(
        [images_lib.decode_to_uint8(jpegs[k], 32) for k in (2, 3)])))[0].numpy()
    expected = np.stack([p[:, 0], p[:, 1], 0 * p[:, 0], p[:, 2]], axis=1)   # blue → Accessories → other
    np.testing.assert_allclose(predictions.probabilities, expected, rtol=1e-4, atol=1e-5)
    assert predictions.source == os.path.abspath(str(model_dir))
    groups = predict_hm_groups(str(model_dir), str(hm), type_attribute="colour")   # the GAN's categories
    assert groups.labels == ("Accessories", "Garment Lower body", "Garment Upper body")
    assert groups.article_ids == ["0900000001", "0900000002"]
    np.testing.assert_allclose(groups.probabilities, p[:, [2, 1, 0]], rtol=1e-4, atol=1e-5)
