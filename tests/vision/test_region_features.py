"""SAERS' attribute regions per item: extracted once with the classifier, written atomically,
read back by the item feature table; bad files and missing networks give clear errors."""
import os

import numpy as np
import pytest

from tfvisrec.data import region_file, schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.vision import features, region_features, semantic_extraction
from tfvisrec.vision.pretrained import load_attribute_classifier

pytestmark = pytest.mark.xdist_group("vision_trained_run")   # share one training run


@pytest.fixture(scope="module")
def written(trained_run, catalogue, tmp_path_factory):
    """(classifier, regions extracted over the catalogue, the folder they were written to)."""
    model_dir, _ = trained_run
    classifier = load_attribute_classifier(model_dir)
    regions = region_features.extract_regions(classifier, catalogue, batch_size=40)
    folder = str(tmp_path_factory.mktemp("regions"))
    features.write_regions(folder, regions)
    return classifier, regions, folder


def test_regions_match_the_semantic_extraction_item_by_item(written, catalogue):
    classifier, regions, _ = written
    ids = np.array([0, 7, 95])
    images = ItemFeatureTable(catalogue, (schema.IMAGE,), image_size=32).lookup(ids)[schema.IMAGE]
    expected = semantic_extraction.extract_attribute_regions(classifier, images)
    assert regions.features.shape == (catalogue.num_items, 3, 256) and regions.shape == (3, 256)
    np.testing.assert_allclose(regions.features[ids], expected["region_features"].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(regions.boxes[ids], expected["boxes"].numpy())
    np.testing.assert_array_equal(regions.classes[ids], expected["classes"].numpy())
    assert regions.names == ["colour", "shape", "usage"]


def test_probability_regions_are_each_attributes_softmax_beside_the_same_boxes(written, catalogue, tmp_path):
    """region_feature="probabilities": f_a^k(i) = softmax(W_k h_i + b_k) of head k on the photo's
    penultimate features h_i (numpy reference), zero-padded to the widest attribute; boxes and
    classes are the ROI regions'; the file records the choice and reads it back."""
    classifier, roi_regions, _ = written
    regions = region_features.extract_regions(classifier, catalogue, batch_size=40, region_feature="probabilities")
    ids = np.array([0, 7, 95])
    images = ItemFeatureTable(catalogue, (schema.IMAGE,), image_size=32).lookup(ids)[schema.IMAGE]
    h = classifier.backbone.trunk(images, training=False)["penultimate"].numpy().astype(np.float64)
    widest = max(len(v) for v in classifier.attribute_values)
    assert regions.shape == (3, widest) and regions.region_feature == "probabilities"
    for a, head in enumerate(classifier.heads):
        logits = h @ head.kernel.numpy() + head.bias.numpy()
        expected = np.exp(logits - logits.max(1, keepdims=True))
        expected /= expected.sum(1, keepdims=True)
        width = expected.shape[1]
        np.testing.assert_allclose(regions.features[ids, a, :width], expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(regions.features[ids, a, width:], 0.0)
        # how sure the classifier is of the value it predicts, kept whatever f_a^k is
        np.testing.assert_array_equal(regions.classes[ids, a], expected.argmax(1))
        for stored in (regions, roi_regions):
            np.testing.assert_allclose(stored.class_probabilities[ids, a], expected.max(1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(regions.boxes, roi_regions.boxes)
    np.testing.assert_array_equal(regions.classes, roi_regions.classes)
    features.write_regions(str(tmp_path), regions)
    back = region_file.read_regions(str(tmp_path / region_file.REGIONS_FILE), catalogue.num_items)
    assert back.region_feature == "probabilities"
    np.testing.assert_array_equal(back.features, regions.features)
    np.testing.assert_array_equal(back.class_probabilities, regions.class_probabilities)


def test_regions_written_before_the_choice_read_as_roi_and_an_unknown_choice_is_named(written, catalogue, tmp_path):
    _, regions, _ = written
    arrays = regions.arrays()
    assert str(arrays["region_feature"]) == "roi"
    np.savez(tmp_path / "old.npz", **{k: v for k, v in arrays.items() if k != "region_feature"})
    old = region_file.read_regions(str(tmp_path / "old.npz"), catalogue.num_items)
    assert old.region_feature == "roi"
    np.savez(tmp_path / "older.npz", **{k: v for k, v in arrays.items() if k != "class_probabilities"})
    older = region_file.read_regions(str(tmp_path / "older.npz"), catalogue.num_items)
    assert older.class_probabilities is None and np.isnan(older.class_probabilities_or_nan()).all()
    assert older.class_probabilities_or_nan().shape == regions.classes.shape
    assert region_file.stored_region_feature(str(tmp_path / "old.npz")) == "roi"
    np.savez(tmp_path / "probs.npz", **{**arrays, "region_feature": np.asarray("probabilities")})
    assert region_file.stored_region_feature(str(tmp_path / "probs.npz")) == "probabilities"
    np.savez(tmp_path / "odd.npz", **{**arrays, "region_feature": np.asarray("pixels")})
    for read in (lambda p: region_file.read_regions(p, catalogue.num_items), region_file.stored_region_feature):
        with pytest.raises(DataError, match="regions 'region_feature' is 'pixels', expected one of roi, probabilities"):
            read(str(tmp_path / "odd.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable regions file"):
        region_file.stored_region_feature(str(tmp_path / "junk.npz"))
    with pytest.raises(ValueError, match="region_feature must be one of roi, probabilities, got 'pixels'"):
        region_features.extract_regions(written[0], catalogue, region_feature="pixels")


def test_written_file_reads_back_whole_and_feeds_the_item_table(written, catalogue):
    _, regions, folder = written
    path = os.path.join(folder, region_file.REGIONS_FILE)
    assert os.listdir(folder) == [region_file.REGIONS_FILE]          # no temp file left
    back = region_file.read_regions(path, catalogue.num_items)
    np.testing.assert_array_equal(back.features, regions.features)
    assert back.values == regions.values
    assert region_file.stored_region_shape(catalogue, path) == (3, 256)
    table = ItemFeatureTable(catalogue, (schema.ITEM, schema.REGIONS, schema.REGION_BOXES), regions_file=path)
    got = table.lookup(np.array([[4, 2]]))
    assert got[schema.REGIONS].shape == (1, 2, 3, 256)
    np.testing.assert_array_equal(got[schema.REGION_BOXES].numpy()[0], regions.boxes[[4, 2]])


def test_bad_or_missing_regions_are_named(written, catalogue, tmp_path):
    _, regions, folder = written
    with pytest.raises(DataError, match="no attribute regions; run `python -m tfvisrec.vision.features --regions"):
        region_file.regions_path(catalogue)
    with pytest.raises(DataError, match=r"has shape \(96, 3, 256\), expected \[50, 3, C\]"):
        region_file.read_regions(os.path.join(folder, region_file.REGIONS_FILE), 50)
    arrays = regions.arrays()
    np.savez(tmp_path / "no_boxes.npz", **{k: v for k, v in arrays.items() if k != "boxes"})
    with pytest.raises(DataError, match="lacks the arrays boxes"):
        region_file.read_regions(str(tmp_path / "no_boxes.npz"), catalogue.num_items)
    np.savez(tmp_path / "bad_class.npz", **{**arrays, "classes": arrays["classes"] + 10})
    with pytest.raises(DataError, match="value index outside its attribute's values"):
        region_file.read_regions(str(tmp_path / "bad_class.npz"), catalogue.num_items)
    np.savez(tmp_path / "bad_p.npz", **{**arrays, "class_probabilities": arrays["class_probabilities"] + 1.5})
    with pytest.raises(DataError, match=r"'class_probabilities' holds a value outside \[0, 1\]"):
        region_file.read_regions(str(tmp_path / "bad_p.npz"), catalogue.num_items)
    np.savez(tmp_path / "short_p.npz", **{**arrays, "class_probabilities": arrays["class_probabilities"][:5]})
    with pytest.raises(DataError, match=r"'class_probabilities' has shape \(5, 3\), expected \[96, 3\]"):
        region_file.read_regions(str(tmp_path / "short_p.npz"), catalogue.num_items)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="junk.npz: not a regions file"):
        region_file.stored_region_shape(catalogue, str(tmp_path / "junk.npz"))


def test_regions_need_an_attribute_classifier():
    with pytest.raises(DataError, match="weights.h5: attribute regions need a pretrained attribute classifier"):
        region_features.require_classifier(None, "weights.h5")
