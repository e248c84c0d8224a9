"""The quality column of Table IV: an inception-style score by our own category classifier.
Its category probabilities against numpy (a head whose finer values map onto the categories),
the map read from labelled items, the held-out accuracy against numpy, and a classifier
trained by the shared trainer on fresh drawings of the category world: it names held-out
photos' categories, and real photos of the three categories score well above one photo
repeated (whose score is 1 by definition)."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec import metrics
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.data.synthetic.category_world import write_category_catalogue, write_category_image_dataset
from tfvisrec.design import quality
from tfvisrec.models import model_flags
from tfvisrec.training import fit
from tfvisrec.vision.attributes import AttributeNetwork

SIZE = 16


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_category_map_by_name_and_by_the_majority_of_labelled_items():
    np.testing.assert_array_equal(quality.category_map(["bag", "hat", "top"], ["top", "bag"]), [1, -1, 0])
    values = np.array([0, 0, 0, 1, 2, 2, -1, 3])
    categories = np.array([1, 1, 0, 0, 2, -1, 2, -1])
    np.testing.assert_array_equal(quality.category_map(["a", "b", "c", "d", "e"], ["x", "y", "z"],
                                                       values, categories), [1, 0, 2, -1, -1])


@pytest.fixture(scope="module")
def mapped_classifier():
    """An untrained network whose second head has 5 values: 0, 1 → category 0, 3 → 1, 4 → 2
    and 2 → none."""
    keras.utils.set_random_seed(0)
    network = AttributeNetwork((2, 5), {"name": "cnnf", "image_size": SIZE, "fc_width": 8, "dropout": 0.0})
    return quality.CategoryClassifier(network, 1, np.array([0, 0, -1, 1, 2]), ["c0", "c1", "c2"])


def test_probabilities_sum_the_mapped_values_and_renormalise(mapped_classifier):
    images = np.random.default_rng(1).uniform(-1, 1, (5, 2 * SIZE, 2 * SIZE, 3)).astype(np.float32)
    shown = tf.image.resize(images, [SIZE, SIZE]).numpy()                  # resized to the head's size
    head = _softmax(mapped_classifier.network(shown, training=False)[1].numpy().astype(np.float64))
    expected = np.stack([head[:, 0] + head[:, 1], head[:, 3], head[:, 4]], axis=1)
    expected /= expected.sum(axis=1, keepdims=True)
    got = mapped_classifier.probabilities(images)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mapped_classifier.quality(images), metrics.inception_score(got, 1)[0], rtol=1e-9)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    catalogue = write_category_catalogue(str(root / "catalogue"), size=SIZE)
    shoppers = write_category_image_dataset(str(root / "world"), size=SIZE)
    run = str(root / "classifier")
    fit(*model_flags.configs_from_flagfile(       # bench/design_world.py's classifier, shorter
        "configs/attributes.cfg", dataset=catalogue, model_dir=run, image_size=SIZE, fc_width=16,
        dropout=0.0, weight_decay=0.0, learning_rate=0.003, batch_size=27, epochs=1, steps_per_epoch=60,
        checkpoint_every=0, verbose=0))
    return run, load_dataset(catalogue), load_dataset(shoppers)


def test_held_out_accuracy_is_the_mapped_categories_of_the_test_split(world, mapped_classifier):
    _, catalogue, _ = world
    # the catalogue's one attribute `category` (3 values) read by a 3-value head mapped 0 → 2, 1 → 0, 2 → 1
    keras.utils.set_random_seed(1)
    network = AttributeNetwork((3,), {"name": "cnnf", "image_size": SIZE, "fc_width": 8, "dropout": 0.0})
    network.pretraining_spec.value.update(attribute_names=["category"], attribute_values=[catalogue.attribute_values[0]])
    classifier = quality.CategoryClassifier(network, 0, np.array([2, 0, 1]), ["a", "b", "c"])
    test = np.flatnonzero(catalogue.holdout_split == 2)
    images = ItemFeatureTable(catalogue, ("image",), image_size=SIZE).lookup(test)["image"].numpy()
    predicted = np.array([2, 0, 1])[network(images, training=False)[0].numpy().argmax(axis=1)]
    truth = np.array([2, 0, 1])[catalogue.attributes[test, 0]]
    train_truth = np.array([2, 0, 1])[catalogue.attributes[catalogue.holdout_split == 0, 0]]
    got = quality.held_out_accuracy(classifier, catalogue)
    assert got["items"] == test.size
    assert got["accuracy"] == pytest.approx(np.mean(predicted == truth))
    assert got["majority"] == pytest.approx(np.mean(truth == np.bincount(train_truth).argmax()))


def test_real_photos_of_distinct_categories_score_higher_than_one_photo_repeated(world):
    run, catalogue, shoppers = world
    assert quality.training_catalogue(run) == catalogue.path
    classifier = quality.CategoryClassifier.from_checkpoint(run, shoppers)
    assert (classifier.attribute_name, list(classifier.value_category)) == ("category", [0, 1, 2])
    accuracy = quality.held_out_accuracy(classifier, catalogue)
    assert accuracy["accuracy"] >= 0.8 > accuracy["majority"] + 0.3, accuracy
    items = np.flatnonzero(shoppers.category >= 0)
    photos = ItemFeatureTable(shoppers, ("image",), image_size=SIZE).lookup(items)["image"].numpy()
    distinct = classifier.quality(photos)
    assert classifier.quality(np.repeat(photos[:1], len(photos), axis=0)) == pytest.approx(1.0)
    assert distinct > 1.5, distinct          # of at most 3 (three categories); measured 3.0


def test_from_checkpoint_maps_a_finer_head_through_the_datasets_labelled_items(tmp_path):
    """H&M's case: the classifier names product types, the GAN's dataset has product groups
    and (for some items) the product type too."""
    from tfvisrec.data import dataset as dataset_lib
    network = AttributeNetwork((2, 4), {"name": "cnnf", "image_size": SIZE, "fc_width": 8, "dropout": 0.0})
    network.pretraining_spec.value.update(attribute_names=["colour", "product_type"],
                                          attribute_values=[["red", "blue"], ["Skirt", "Bag", "Top", "Hat"]])
    tf.train.Checkpoint(model=network).save(str(tmp_path / "classifier" / "best" / "ckpt"))
    # the dataset's own value order differs from the classifier's: mapped by name
    types = ["Top", "Skirt", "Bag", "Hat"]
    item_types = np.array([[0], [0], [1], [1], [2], [-1], [3], [0]])    # Top Top Skirt Skirt Bag - Hat Top
    groups = np.array([0, 0, 1, 1, 2, 1, -1, 1])                         # upper, lower, accessories
    empty = dataset_lib.Split(*(np.zeros(0, np.int64) for _ in range(3)))
    folder = dataset_lib.write_dataset(
        str(tmp_path / "gan_data"), {"name": "t", "kind": "interactions", "categories": ["upper", "lower", "acc"],
                                     "attributes": {"names": ["product_type"], "values": [types]}},
        [], [f"i{i}" for i in range(8)], {"train": empty, "valid": empty, "test": empty},
        dataset_lib.item_table(8, np.zeros(0, np.int64), category=groups, attributes=item_types))
    classifier = quality.CategoryClassifier.from_checkpoint(str(tmp_path / "classifier"), load_dataset(folder))
    assert classifier.attribute_name == "product_type"
    # Skirt → lower, Bag → acc, Top → upper (2 of 3 Top items), Hat → none (its one item has no group)
    np.testing.assert_array_equal(classifier.value_category, [1, 2, 0, -1])
    assert classifier.covered == [0, 1, 2]
