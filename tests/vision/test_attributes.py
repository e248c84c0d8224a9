"""The attribute classifier: SAERS eq. 1 against numpy, learning on a tiny catalogue, the trainer."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfvisrec import config as config_lib
from tfvisrec.data import catalogue_pipeline as cp
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models import attributes as model_attributes
from tfvisrec.vision import attributes


def _config(**overrides):
    values = dict(model="attributes", backbone="cnnf", image_size=32, fc_width=32, dropout=0.0, weight_decay=0.0)
    values.update(overrides)
    return registry.new_config(values.pop("model"), **values)


def _log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def test_multitask_cross_entropy_is_the_masked_sum_of_per_attribute_means():
    rng = np.random.default_rng(0)
    cards = (3, 2, 4)
    logits = [rng.normal(size=(5, n)).astype(np.float32) for n in cards]
    labels = np.array([[0, 1, -1], [2, -1, -1], [-1, 0, -1], [1, 1, -1], [0, -1, -1]], np.int32)
    expected = 0.0
    for a, n in enumerate(cards):
        known = labels[:, a] >= 0
        if known.any():
            ce = -_log_softmax(logits[a].astype(np.float64))[known, labels[known, a]]
            expected += ce.mean()          # the all-missing attribute 2 adds nothing
    got = attributes.multitask_cross_entropy(labels, [tf.constant(x) for x in logits])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_compute_loss_adds_half_squared_kernel_norms(catalogue):
    keras.utils.set_random_seed(0)
    model = model_attributes.AttributeClassifier(DataInfo.from_dataset(catalogue), _config(weight_decay=0.01))
    batch = next(iter(cp.make_attribute_dataset(catalogue, "train", 8, 32)))
    logits = [x.numpy() for x in model(batch["image"])]
    kernels = [w for w in model.get_weights() if w.ndim > 1]
    assert len(kernels) == 7 + 3            # conv1-5, fc6, fc7 and three heads
    penalty = 0.01 * sum(0.5 * np.sum(np.square(k.astype(np.float64))) for k in kernels)
    ce = attributes.multitask_cross_entropy(batch["labels"], [tf.constant(x) for x in logits]).numpy()
    np.testing.assert_allclose(model.compute_loss(batch, training=False).numpy(), ce + penalty, rtol=1e-5)


def test_registered_for_the_trainer_and_not_a_user_scorer(catalogue):
    cls = registry.get("attributes")
    assert cls is model_attributes.AttributeClassifier
    assert (cls.train_pipeline, cls.validation_metric) == ("attributes", "attribute_accuracy")
    model = cls(DataInfo.from_dataset(catalogue), _config())
    model.prepare(catalogue)
    assert model.attribute_names == ["colour", "shape", "usage"]
    assert model.attribute_values[0] == ["red", "green", "blue"]
    with pytest.raises(TypeError, match="does not score users"):
        model.score(tf.constant([0]), {})
    with pytest.raises(DataError, match="needs a dataset with attribute labels"):
        cls(DataInfo(num_users=0, num_items=3), _config())


def test_a_few_gradient_steps_reduce_the_loss_and_beat_the_majority_class(catalogue):
    keras.utils.set_random_seed(0)
    model = model_attributes.AttributeClassifier(DataInfo.from_dataset(catalogue), _config())
    model.prepare(catalogue)
    optimizer = keras.optimizers.Adam(3e-4)
    table = ItemFeatureTable(catalogue, ("image",), image_size=32)

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = [float(step(batch)) for epoch in range(10) for batch in cp.make_attribute_dataset(
        catalogue, "train", 16, 32, seed=0, epoch=epoch, training=True, item_table=table)]
    assert np.mean(losses[-5:]) < 0.6 * losses[0]
    accuracy = model.per_attribute_accuracy(catalogue, "valid")
    majority = attributes.majority_accuracy(catalogue, "valid")
    assert accuracy["colour"] >= 0.9 > majority["colour"] + 0.3      # the garment's fill colour
    assert accuracy["usage"] >= 0.9 > majority["usage"] + 0.2        # dark or light background
    assert model.validation_score(catalogue) == pytest.approx(np.mean(list(accuracy.values())))
    assert model.validation_score(catalogue) > np.mean(list(majority.values())) + 0.15
    labels, predicted, sure = model.predict_split(catalogue, "valid")
    images = table.lookup(cp.split_items(catalogue, "valid"))["image"]
    probabilities = [tf.nn.softmax(x).numpy() for x in model(images, training=False)]
    np.testing.assert_array_equal(labels, catalogue.attributes[cp.split_items(catalogue, "valid")])
    np.testing.assert_array_equal(predicted, np.stack([p.argmax(1) for p in probabilities], 1))
    np.testing.assert_allclose(sure, np.stack([p.max(1) for p in probabilities], 1), rtol=1e-5)


def test_accuracy_and_majority_yardstick_against_numpy(catalogue):
    labels = np.array([[0, 1], [1, -1], [2, 1], [0, 0]])
    predicted = np.array([[0, 1], [2, 0], [2, 0], [1, 0]])
    got = attributes.accuracy_by_attribute(labels, predicted, ["a", "b"])
    assert got == {"a": 0.5, "b": pytest.approx(2 / 3)}
    assert np.isnan(attributes.accuracy_by_attribute(np.full((2, 1), -1), np.zeros((2, 1)), ["c"])["c"])
    train = catalogue.attributes[cp.split_items(catalogue, "train")]
    test = catalogue.attributes[cp.split_items(catalogue, "test")]
    for a, name in enumerate(catalogue.attribute_names):
        values = train[:, a][train[:, a] >= 0]
        top = np.bincount(values).argmax()
        known = test[:, a] >= 0
        assert attributes.majority_accuracy(catalogue, "test")[name] == pytest.approx(np.mean(test[known, a] == top))


@pytest.mark.xdist_group("vision_trained_run")
def test_the_shared_trainer_trains_it_and_checkpoints_the_vocabularies(trained_run, catalogue):
    import json
    import os
    from tfvisrec.vision import pretrained
    model_dir, model = trained_run
    with open(os.path.join(model_dir, "summary.json")) as f:
        summary = json.load(f)
    assert summary["validation_metric"] == "attribute_accuracy"
    assert 0.0 <= summary["best_validation"] <= 1.0
    spec = pretrained.read_pretraining_spec(model_dir)
    assert spec["attribute_names"] == ["colour", "shape", "usage"]
    assert spec["backbone"]["name"] == "cnnf" and spec["backbone"]["fc_width"] == 32
    assert spec["backbone"]["image_size"] == 32
    assert model.validation_score(catalogue) == pytest.approx(summary["best_validation"])
