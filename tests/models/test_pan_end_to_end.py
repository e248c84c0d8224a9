"""Outfit models with their backbone trained end to end (`--backbone_training=end_to_end`,
models/pan_backbone.py; FHN here, PAN in one test, one code path): the CNN runs on the items'
photos, its weights move with the outfit loss at their own learning rate and fit a batch the
fixed maps of the same CNN cannot, the catalogue's maps follow the trained weights, and an export
scores photos with that backbone like the items' ids. On the tiny photo world of
`tests/outfit_photo_world.py` (32 px, CNN-F)."""
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from outfit_photo_world import PHOTO_SIZE, make_outfit_photo_world  # noqa: E402

pytestmark = pytest.mark.xdist_group("pan_end_to_end")

OUTFITS = np.array([[0, 6, 12], [5, 11, 17], [2, -1, 13]])   # item indices, -1 = empty slot
USERS = np.array([0, 3, 1])


STEPS = 8


def _config(world, name="fhn", **overrides):
    settings = dict(code_dim=8, backbone_training="end_to_end", backbone_weights=world.backbone,
                    image_size=PHOTO_SIZE, fc_width=16, dropout=0.0, weight_decay=1e-4, backbone_lr_scale=0.002)
    return registry.new_config(name, **{**settings, **overrides})


def _model(world, dataset, name="fhn", **overrides):
    model = registry.get(name)(DataInfo.from_dataset(dataset), _config(world, name, **overrides))
    model.prepare(dataset)
    model.build_variables()
    return model


def _fit_one_batch(model, batch, compiled: bool):
    """STEPS Adam steps (0.05; the backbone at 0.05 × backbone_lr_scale) on one batch → losses
    without the backbone's weight decay."""
    import tf_keras as keras
    optimizers = model.create_optimizers(lambda: keras.optimizers.Adam(0.05))
    step = lambda: model.train_step(batch, optimizers) - model.item_maps.weight_penalty()
    step = tf.function(step) if compiled else step
    return [float(step()) for _ in range(STEPS)], optimizers


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """FHN end to end on the photo world and FHN on the fixed maps of the same (untrained) CNN,
    each fitted to one batch; the end-to-end model's weights and maps before training."""
    from tfvisrec.data.outfit_pipeline import outfit_pairs
    root = tmp_path_factory.mktemp("pan_e2e")
    world = make_outfit_photo_world(str(root))
    dataset = load_dataset(world.dataset_dir)
    batch = next(iter(outfit_pairs(dataset, batch_size=4, seed=0, epoch=0)))
    model = _model(world, dataset)
    before = [v.numpy() for v in model.item_maps.map_network.weights]
    maps_before = model.item_maps.catalogue_maps().numpy()
    losses, optimizers = _fit_one_batch(model, batch, compiled=True)
    fixed = registry.get("fhn")(DataInfo.from_dataset(dataset), registry.new_config("fhn", code_dim=8))
    fixed.prepare(dataset)
    fixed.build_variables()
    fixed_losses, _ = _fit_one_batch(fixed, batch, compiled=False)
    return model, dataset, world, root, before, maps_before, optimizers, losses, fixed_losses


def test_the_backbone_trains_with_its_own_learning_rate(trained):
    model, _, _, _, before, _, optimizers, *_ = trained
    backbone = model.item_maps.map_network
    names = {v.name for v in model.trainable_variables}
    assert {v.name for v in backbone.trainable_variables} <= names
    assert not any(n.startswith(("fc6", "fc7")) for n in names)   # no gradient reaches them: not kept
    for old, new in zip(before, backbone.weights):
        assert np.abs(new.numpy() - old).max() > 1e-4, new.name
    import tf_keras as keras
    rate = lambda name: float(keras.backend.get_value(optimizers[name].learning_rate))
    assert rate("backbone_optimizer") == pytest.approx(0.002 * rate("optimizer"))
    assert int(optimizers["backbone_optimizer"].iterations) == int(optimizers["optimizer"].iterations) == STEPS


def test_training_the_backbone_fits_outfits_the_fixed_maps_cannot(trained):
    """Both start from the same CNN's maps (the fixed ones rounded through float16), so the first
    losses agree; the end-to-end model then fits the batch far better (measured: 0.0075 against
    0.48 after 8 steps; with the backbone's rate at 5e-8 the two runs stay within 0.002)."""
    *_, losses, fixed_losses = trained
    assert losses[0] == pytest.approx(fixed_losses[0], abs=1e-3)
    assert losses[-1] < 0.5 * fixed_losses[-1]


def test_maps_of_photos_follow_the_trained_weights(trained):
    """lookup in training: the CNN on the decoded photos (zeros for an empty slot); outside it
    the catalogue's maps, recomputed after the weights changed."""
    from tfvisrec.data import images
    model, dataset, world, _, _, maps_before, *_ = trained
    pixels = np.stack([images.decode_to_uint8(p, PHOTO_SIZE).numpy() for p in world.photos])
    expected = model.item_maps.map_network(pixels.astype(np.float32) / 127.5 - 1.0, training=False).numpy()
    got = model.item_maps.lookup(tf.constant(OUTFITS), training=True).numpy()
    np.testing.assert_allclose(got[OUTFITS >= 0], expected[OUTFITS[OUTFITS >= 0]], rtol=1e-5, atol=1e-6)
    assert not got[OUTFITS < 0].any()
    catalogue = model.item_maps.catalogue_maps().numpy()
    np.testing.assert_allclose(catalogue, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(catalogue - maps_before).max() > 1e-3 * np.abs(maps_before).max()


def test_weight_decay_is_dvbprs_on_the_convolutions(trained):
    model, *_ = trained
    kernels = [layer.kernel.numpy() for layer in model.item_maps.map_network.layers if "conv" in layer.name]
    assert len(kernels) == 5
    expected = 1e-4 * sum(0.5 * np.sum(k.astype(np.float64) ** 2) for k in kernels)
    assert float(model.item_maps.weight_penalty()) == pytest.approx(expected, rel=1e-5)


def test_an_export_scores_photos_with_the_trained_backbone_like_ids(trained):
    from tfvisrec.export import export_model
    model, dataset, world, root, *_ = trained
    path = export_model(model, dataset, str(root / "export" / "pan"), version=1, models_config=None,
                        feature_backbone=model.photo_feature_maps())
    loaded = tf.saved_model.load(path)
    users = tf.constant(np.array(dataset.user_ids, object)[USERS].astype(str))
    ids = np.array(dataset.item_ids, object)
    items = np.where(OUTFITS >= 0, ids[np.maximum(OUTFITS, 0)], "").astype(str)
    photos = np.array([[world.photos[i] if i >= 0 else b"" for i in row] for row in OUTFITS], object)
    expected = model.outfit_scores(tf.constant(USERS), tf.constant(OUTFITS)).numpy()
    by_id = loaded.signatures["outfit_score"](user=users, items=tf.constant(items))["scores"].numpy()
    by_photo = loaded.signatures["outfit_score_images"](user=users, images=tf.constant(photos))["scores"].numpy()
    np.testing.assert_allclose(by_id, expected, atol=1e-5)
    np.testing.assert_allclose(by_photo, expected, rtol=1e-3, atol=1e-6)
    # recommend_outfit_item ranks the shoes by the model's (trained backbone's) scores
    out = loaded.signatures["recommend_outfit_item"](user=users[:1], items=tf.constant([[ids[2], ids[7], ""]]),
                                                     slot=tf.constant(["shoes"]), k=tf.constant([3], tf.int32))
    trial = np.array([[2, 7, c] for c in range(12, 18)])
    scores = model.outfit_scores(tf.constant([USERS[0]] * 6), tf.constant(trial)).numpy()
    order = np.argsort(-scores, kind="stable")[:3]
    assert [i.decode() for i in out["item_ids"].numpy()[0]] == [dataset.item_ids[12 + o] for o in order]


def test_pan_shares_the_end_to_end_encoder(trained):
    _, dataset, world, *_ = trained
    from tfvisrec.data.outfit_pipeline import outfit_pairs
    model = _model(world, dataset, "pan")   # the Table 2 rows differ in losses and attention, above the maps
    assert model.item_maps.end_to_end and model.map_shape == (4, 4, 256)
    assert model.feature_maps_source.weights == os.path.abspath(world.backbone)
    batch = next(iter(outfit_pairs(dataset, batch_size=4, seed=0, epoch=0)))
    with tf.GradientTape() as tape:   # with hard negatives mined in the batch and the attention
        loss = model.compute_loss(batch)
    gradient = tape.gradient(loss, model.item_maps.map_network.get_layer("conv1").kernel)
    assert np.isfinite(float(loss)) and float(tf.reduce_max(tf.abs(gradient))) > 0


def test_clear_errors(trained, tmp_path):
    from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
    _, dataset, world, *_ = trained
    without_photos = load_dataset(write_outfit_world(make_outfit_world(OutfitWorldConfig(
        num_users=4, items_per_slot=4, outfits_per_user=4, valid_per_user=1, test_per_user=1, candidates=20)),
        str(tmp_path / "maps_only")))
    with pytest.raises(DataError, match="has none"):
        _model(world, without_photos)
    with pytest.raises(DataError, match="layer 'fc6'"):   # a classifier of another width: not these maps
        _model(world, dataset, fc_width=32)
    with pytest.raises(ValueError, match="needs --backbone_training=end_to_end"):
        _model(world, dataset, backbone_training="fixed")
    with pytest.raises(ValueError, match="with --backbone_training=fixed only"):
        _model(world, dataset, feature_maps_file=os.path.join(dataset.path, "feature_maps.npz"))
    with pytest.raises(ValueError, match="must be one of fixed, end_to_end"):
        _model(world, dataset, backbone_training="frozen")
