"""ImgRec (Dir / FT / EtE): predictor, BCE loss, two-stage freezing, and the pointwise
pipeline's rows (labels, negatives never positives) against numpy on tiny cases."""
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec.config import TrainConfig
from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data import pipelines
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.data.pointwise_pipeline import ComplementSampler
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.imgrec import binary_cross_entropy

U, I, F, K, FC, S = 4, 9, 6, 3, 5, 16
L2 = dict(l2_user=0.1, l2_item=0.2, l2_visual=0.05)
DECAY = 0.01


def _build(name, **overrides):
    settings = dict(model=name, embedding_dim=K, imgrec_fc_dim=FC, image_size=S, fc_width=8,
                    dropout=0.0, weight_decay=DECAY, init_stddev=0.5, **L2)
    settings.update(overrides)
    keras.utils.set_random_seed(settings.get("seed", 0))
    info = DataInfo(num_users=U, num_items=I, feature_dim=F)
    return registry.build(registry.new_config(settings.pop("model"), **settings), info)


def _relu(x):
    return np.maximum(x, 0.0)


def _items(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return {"item": rng.integers(0, I, n), "features": rng.normal(size=(n, F)).astype(np.float32),
            "image": rng.uniform(-1, 1, size=(n, S, S, 3)).astype(np.float32)}


def _np_phi(model, items):
    """φ(x_i) of each variant, in numpy from the model's weights."""
    branch = model.image_branch
    if model.registered_name == "imgrec_dir":
        return items["features"]
    if model.registered_name == "imgrec_ft":
        return _relu(items["features"] @ branch.fc.kernel.numpy() + branch.fc.bias.numpy())
    cnn = np.concatenate([branch.backbone.penultimate(items["image"][k:k + 1]).numpy()
                          for k in range(len(items["image"]))])
    return _relu(cnn @ branch.fc.kernel.numpy() + branch.fc.bias.numpy())


def _np_item_vectors(model, items, with_ids=True):
    z = _np_phi(model, items) @ model.image_projection.kernel.numpy()
    return z + model.item_embedding.numpy()[items["item"]] if with_ids else z


VARIANTS = ("imgrec_dir", "imgrec_ft", "imgrec_ete")


class ImgRecTest(tf.test.TestCase):

    def test_registered_variants(self):
        keys = {"imgrec_dir": ("item", "features"), "imgrec_ft": ("item", "features"),
                "imgrec_ete": ("item", "image")}
        for name in VARIANTS:
            model = _build(name)
            self.assertEqual(model.registered_name, name)
            self.assertEqual(model.item_feature_keys, keys[name])
            self.assertEqual(model.train_pipeline, "pointwise")
            self.assertTrue(model.factorised)

    def test_binary_cross_entropy_matches_numpy(self):
        logits = np.array([2.0, -1.0, 0.3, -4.0, 0.0], np.float32)
        labels = np.array([1, 0, 0, 1, 1], np.float32)
        p = 1 / (1 + np.exp(-logits))
        expected = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
        self.assertAllClose(binary_cross_entropy(labels, logits), expected)

    def test_score_probability_and_factorisation(self):
        users = np.array([0, 3, 1, 1, 2, 0])
        for name in VARIANTS:
            model = _build(name)
            items = _items()
            z_u = model.user_embedding.numpy()[users]
            z_i = _np_item_vectors(model, items)
            logits = np.sum(z_u * z_i, -1)
            self.assertAllClose(model.score(users, items), logits, atol=1e-5, msg=name)
            self.assertAllClose(model.probability(users, items), 1 / (1 + np.exp(-logits)), atol=1e-5)
            u = model.user_vectors(np.arange(U)).numpy()
            v = model.item_vectors(items).numpy()
            self.assertAllClose(v, z_i, atol=1e-5)
            self.assertAllClose((u @ v.T)[users, np.arange(6)], logits, atol=1e-5)

    def test_an_item_without_id_gets_its_image_term_only(self):
        for name in VARIANTS:
            model = _build(name)
            items = _items(seed=4)
            no_id = {k: v for k, v in items.items() if k != "item"}
            self.assertAllClose(model.item_vectors(no_id), _np_item_vectors(model, items, with_ids=False),
                                atol=1e-5, msg=name)

    def test_loss_is_bce_plus_penalties(self):
        users = np.array([2, 2, 0, 1, 3, 3])
        labels = np.array([1, 0, 1, 0, 1, 0], np.float32)
        for name in VARIANTS:
            model = _build(name)
            items = _items(seed=3)
            batch = {"user": users, "item": items, "label": labels}
            logits = np.sum(model.user_embedding.numpy()[users] * _np_item_vectors(model, items), -1)
            bce = np.mean(np.log1p(np.exp(-logits)) * labels + np.log1p(np.exp(logits)) * (1 - labels))
            kernels = [model.image_projection.kernel.numpy()]
            if name != "imgrec_dir":
                kernels.append(model.image_branch.fc.kernel.numpy())
            penalty = (L2["l2_user"] * np.mean(np.sum(model.user_embedding.numpy()[users] ** 2, -1))
                       + L2["l2_item"] * np.mean(np.sum(model.item_embedding.numpy()[items["item"]] ** 2, -1))
                       + L2["l2_visual"] * sum(np.sum(k ** 2) for k in kernels))
            if name == "imgrec_ete":
                cnn = [layer.kernel.numpy() for layer in model.backbone.submodules
                       if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
                penalty += DECAY * sum(0.5 * np.sum(k ** 2) for k in cnn)
            self.assertAllClose(model.compute_loss(batch, training=False), bce + penalty, rtol=1e-5, msg=name)

    def test_fixed_feature_variants_need_features(self):
        for name in ("imgrec_dir", "imgrec_ft"):
            config = registry.new_config(name)
            with self.assertRaisesRegex(DataError, "features"):
                registry.build(config, DataInfo(num_users=U, num_items=I, feature_dim=0))


class TwoStageTest(tf.test.TestCase):

    def test_stage_one_freezes_the_cnn_and_stage_two_trains_its_last_layers(self):
        model = _build("imgrec_ete", stage1_epochs=2, trainable_backbone_layers=3, stage2_lr_scale=0.1)
        trunk = model.backbone.trunk
        last = [layer.name for layer in trunk.layers[-3:]]
        self.assertEqual(model.image_branch.trained_layers, last)
        built = {v.ref() for v in model.trainable_variables}   # what the optimizer is built with
        self.assertTrue({v.ref() for layer in trunk.layers[-3:] for v in layer.weights} <= built)

        self.assertTrue(model.begin_epoch(0))
        self.assertEqual(model.learning_rate_scale, 1.0)
        stage1 = {v.ref() for v in model.trainable_variables}
        self.assertFalse(any(v.ref() in stage1 for v in trunk.weights))
        self.assertIn(model.image_branch.fc.kernel.ref(), stage1)
        self.assertIn(model.user_embedding.ref(), stage1)
        one_row = {"user": np.array([0]), "item": {"item": np.array([1])}}
        embeddings_penalty = (L2["l2_user"] * np.sum(model.user_embedding.numpy()[0] ** 2)
                              + L2["l2_item"] * np.sum(model.item_embedding.numpy()[1] ** 2)
                              + L2["l2_visual"] * (np.sum(model.image_projection.kernel.numpy() ** 2)
                                                   + np.sum(model.image_branch.fc.kernel.numpy() ** 2)))
        # Frozen: no weight decay on the CNN.
        self.assertAllClose(model.regularization(one_row), embeddings_penalty, rtol=1e-5)
        self.assertFalse(model.begin_epoch(1))

        self.assertTrue(model.begin_epoch(2))
        trunk_refs = {v.ref() for v in trunk.weights}
        trained_cnn = {v.ref() for v in model.trainable_variables} & trunk_refs
        expected = {v.ref() for layer in trunk.layers if layer.name in last for v in layer.weights}
        self.assertTrue(expected)
        self.assertEqual(trained_cnn, expected)
        # Stage 2: weight decay on the trained kernels only (fc6, fc7).
        decayed = sum(0.5 * np.sum(trunk.get_layer(n).kernel.numpy() ** 2) for n in ("fc6", "fc7"))
        self.assertAllClose(model.regularization(one_row), embeddings_penalty + DECAY * decayed, rtol=1e-5)
        self.assertEqual(model.learning_rate_scale, 0.1)
        self.assertFalse(model.begin_epoch(3))

    def test_the_trainer_can_end_stage_one_early(self):
        model = _build("imgrec_ete", stage1_epochs=10, trainable_backbone_layers=3)
        self.assertEqual(model.num_stages, 2)
        self.assertTrue(model.begin_epoch(0))
        self.assertEqual(model.stage, 0)
        self.assertFalse(model.begin_epoch(1, min_stage=0))
        self.assertTrue(model.begin_epoch(2, min_stage=1))   # patience ran out in stage 1
        self.assertEqual(model.stage, 1)
        self.assertEqual(model.learning_rate_scale, model.config.stage2_lr_scale)
        self.assertFalse(model.begin_epoch(3, min_stage=1))
        joint_only = _build("imgrec_ete", stage1_epochs=0)
        self.assertEqual((joint_only.num_stages, joint_only.stage), (1, 0))

    def test_all_layers_when_negative(self):
        model = _build("imgrec_ete", trainable_backbone_layers=-1)
        self.assertEqual(len(model.image_branch.trained_layers), len(model.backbone.trunk.layers))
        self.assertFalse(model.begin_epoch(0))   # stage1_epochs = 0: joint from the start
        trunk_refs = {v.ref() for v in model.backbone.trunk.weights}
        self.assertTrue(trunk_refs <= {v.ref() for v in model.trainable_variables})


# ------------------------------------------------------------------ the pointwise pipeline

# user: training items (10 items). User 0 bought all but item 4; user 2 bought nothing in training.
TRAIN = {0: [0, 1, 2, 3, 5, 6, 7, 8, 9], 1: [2, 7], 2: [], 3: [9, 0, 5]}
NUM_ITEMS = 10


def _split(pairs, times=None):
    users, items = (np.array(x, np.int64) for x in zip(*pairs)) if pairs else (np.zeros(0, np.int64),) * 2
    times = np.arange(len(users), dtype=np.int64) * 10 + 1000 if times is None else times
    return dataset_lib.Split(users, items, times)


def _dataset(train=TRAIN, num_items=NUM_ITEMS):
    pairs = [(u, i) for u, items in train.items() for i in items]
    splits = {"train": _split(pairs), "valid": _split([]), "test": _split([])}
    table = dataset_lib.item_table(num_items, splits["train"].items)
    num_users = max(train) + 1
    return dataset_lib.Dataset(path=None, meta={}, user_ids=[f"u{u}" for u in range(num_users)],
                               item_ids=[f"i{i}" for i in range(num_items)], **splits, **table)


def _batches(dataset, **kwargs):
    settings = dict(batch_size=4, seed=3, epoch=0, num_negatives=2)
    settings.update(kwargs)
    table = ItemFeatureTable(dataset, ("item",))
    return [{k: (v if not isinstance(v, dict) else {f: t.numpy() for f, t in v.items()})
             if not hasattr(v, "numpy") else v.numpy() for k, v in b.items()}
            for b in pipelines.make_pipeline("pointwise", dataset=dataset, item_table=table, **settings)]


class PointwisePipelineTest(tf.test.TestCase):

    def test_rows_are_a_positive_then_its_negatives(self):
        dataset = _dataset()
        n = len(dataset.train)
        batches = _batches(dataset)
        self.assertLen(batches, -(-n // 4))
        order = pipelines.epoch_permutation(n, 3, 0)
        order = np.concatenate([order, pipelines.epoch_permutation(n, 3, 1)])[:4 * len(batches)]
        for b, batch in enumerate(batches):
            rows = order[4 * b:4 * b + 4]
            self.assertAllEqual(batch["label"], np.tile([1.0, 0.0, 0.0], 4))
            self.assertAllEqual(batch["user"], np.repeat(dataset.train.users[rows], 3))
            self.assertAllEqual(batch["item"]["item"][::3], dataset.train.items[rows])
            self.assertEqual(batch["label"].dtype, np.float32)

    def test_negatives_are_never_training_positives(self):
        dataset = _dataset()
        bought = np.zeros((4, NUM_ITEMS), bool)
        bought[dataset.train.users, dataset.train.items] = True
        negatives = 0
        for epoch in range(20):
            for batch in _batches(dataset, epoch=epoch, num_negatives=3):
                neg = batch["label"] == 0
                users, items = batch["user"][neg], batch["item"]["item"][neg]
                self.assertFalse(bought[users, items].any())
                self.assertTrue(np.all(items[users == 0] == 4))   # user 0's only non-positive
                negatives += neg.sum()
        self.assertGreater(negatives, 500)

    def test_negatives_are_uniform_over_the_non_positives(self):
        dataset = _dataset()
        counts = np.zeros(NUM_ITEMS)
        for epoch in range(40):
            for batch in _batches(dataset, epoch=epoch, num_negatives=32):
                neg = (batch["label"] == 0) & (batch["user"] == 1)
                counts += np.bincount(batch["item"]["item"][neg], minlength=NUM_ITEMS)
        self.assertEqual(counts[[2, 7]].sum(), 0)
        share = counts[np.setdiff1d(np.arange(NUM_ITEMS), [2, 7])] / counts.sum()
        self.assertGreater(counts.sum(), 2000)
        self.assertAllClose(share, np.full(8, 1 / 8), atol=0.02)

    def test_sampler_maps_uniform_draws_to_the_rth_non_positive(self):
        dataset = _dataset()
        sampler = ComplementSampler(dataset.train.users, dataset.train.items, 4, NUM_ITEMS)
        users = np.array([0, 1, 1, 3, 2, 3, 1])
        seed = tf.constant([5, 6], tf.int64)
        got = sampler.sample(tf.constant(users), 5, seed).numpy()
        uniform = tf.random.stateless_uniform([len(users), 5], seed, dtype=tf.float64).numpy()
        for row, u in enumerate(users):
            free = np.setdiff1d(np.arange(NUM_ITEMS), TRAIN[u])
            expected = free[np.minimum(np.floor(uniform[row] * free.size).astype(int), free.size - 1)]
            self.assertAllEqual(got[row], expected)

    def test_reproducible_and_resumable(self):
        dataset = _dataset()
        first, again = _batches(dataset, epoch=2), _batches(dataset, epoch=2)
        resumed = _batches(dataset, epoch=2, start_batch=2)
        for a, b in zip(first, again):
            self.assertAllEqual(a["item"]["item"], b["item"]["item"])
        self.assertLen(resumed, len(first) - 2)
        for a, b in zip(first[2:], resumed):
            self.assertAllEqual(a["item"]["item"], b["item"]["item"])
            self.assertAllEqual(a["user"], b["user"])
        other = _batches(dataset, epoch=3)
        self.assertFalse(all(np.array_equal(a["item"]["item"], b["item"]["item"]) for a, b in zip(first, other)))

    def test_times_follow_their_positive(self):
        dataset = _dataset()
        batch = _batches(dataset, with_time=True, num_negatives=1)[0]
        self.assertAllEqual(batch["time"], batch["item"]["time"])
        self.assertAllEqual(batch["time"][::2], batch["time"][1::2])

    def test_a_user_who_bought_everything_is_a_data_error(self):
        dataset = _dataset(train={0: list(range(NUM_ITEMS)), 1: [3]})
        with self.assertRaisesRegex(DataError, "'u0' interacted with every item"):
            _batches(dataset)
        self.assertLen(_batches(dataset, num_negatives=0), 3)   # positives only: nothing to sample


# ------------------------------------------------------------------ two stages in the trainer

def _jpeg(index):
    rng = np.random.default_rng(index)
    pixels = np.full((20, 20, 3), rng.integers(0, 256, 3), np.uint8)
    pixels[5:15, 5:15] = rng.integers(0, 256, 3)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _write_image_dataset(path, num_users=6, num_items=10):
    rng = np.random.default_rng(0)
    rows = {"train": [], "valid": [], "test": []}
    for u in range(num_users):
        items = rng.choice(num_items, size=5, replace=False)
        rows["train"] += [(u, i) for i in items[:3]]
        rows["valid"].append((u, items[3]))
        rows["test"].append((u, items[4]))
    splits = {k: _split(v, np.full(len(v), -1, np.int64)) for k, v in rows.items()}
    return dataset_lib.write_dataset(
        path, {"name": "tiny_images"}, [f"u{u}" for u in range(num_users)],
        [f"i{i}" for i in range(num_items)], splits,
        dataset_lib.item_table(num_items, splits["train"].items),
        images=[_jpeg(i) for i in range(num_items)], num_shards=1)


def test_trainer_runs_the_two_stages(tmp_path):
    """Epoch 0 (stage 1) leaves the CNN as loaded; epoch 1 (stage 2) trains its last 3 layers only."""
    from tfvisrec.training import checkpoints, fit
    dataset_dir = _write_image_dataset(str(tmp_path / "data"))
    sizes = dict(image_size=S, fc_width=16, imgrec_fc_dim=16, weight_decay=0.0)   # no decay: changes are gradients
    source = _build("imgrec_ete", seed=5, **sizes)
    weights = tf.train.Checkpoint(model=source).write(str(tmp_path / "source" / "ckpt"))
    loaded = {v.name: v.numpy() for v in source.backbone.trunk.weights}
    last = {layer.name for layer in source.backbone.trunk.layers[-3:]}
    model_config = registry.new_config(
        "imgrec_ete", embedding_dim=K, dropout=0.0, backbone_weights=weights,
        stage1_epochs=1, trainable_backbone_layers=3, stage2_lr_scale=0.25, num_negatives=1, **sizes)
    run = str(tmp_path / "run")
    for epochs in (1, 2):
        train_config = dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=run, epochs=epochs,
                                           batch_size=4, learning_rate=0.01, patience=0, verbose=0)
        fit(model_config, train_config)
        model, _ = checkpoints.load_trained(run, which="latest")
        for layer in model.backbone.trunk.layers:
            for v in layer.weights:
                unchanged = np.array_equal(v.numpy(), loaded[v.name])
                assert unchanged == (epochs == 1 or layer.name not in last), (epochs, v.name)
        assert _saved_learning_rate(run) == pytest.approx(0.01 * (1.0 if epochs == 1 else 0.25))


def test_stage_one_uses_the_frozen_cnns_outputs_cached_per_item(tmp_path):
    """In stage 1 the training φ(x_i) comes from CNN(x_i) computed once per item: the same
    numbers as running the frozen CNN on the decoded image; stage 2 runs the CNN again."""
    dataset = dataset_lib.load_dataset(_write_image_dataset(str(tmp_path / "data")))
    model = _build("imgrec_ete", stage1_epochs=1, trainable_backbone_layers=3)
    model.prepare(dataset)
    assert model.begin_epoch(0)
    ids = np.array([3, 0, 7, 3, 8])
    items = ItemFeatureTable(dataset, ("item", "image"), image_size=S).lookup(ids)
    cached = model.image_features(items, training=True).numpy()
    expected = _np_phi(model, {k: v.numpy() for k, v in items.items()})
    np.testing.assert_allclose(cached, expected, atol=1e-5)
    no_image = {"item": items["item"], "image": tf.zeros_like(items["image"])}
    np.testing.assert_allclose(model.image_features(no_image, training=True), expected, atol=1e-5)
    assert model.begin_epoch(1)
    assert not np.allclose(model.image_features(no_image, training=True), expected, atol=1e-3)


def _saved_learning_rate(run):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(f"{run}/ckpt"))
    keys = [k for k in reader.get_variable_to_shape_map()
            if k.startswith("optimizer/") and k.endswith("learning_rate/.ATTRIBUTES/VARIABLE_VALUE")]
    assert len(keys) == 1, keys
    return float(reader.get_tensor(keys[0]))
