"""Every registered model gets the signatures that apply to it, and they reproduce the
model's own `score` (built through the trainer's `build_model`, exported, loaded back)."""
import dataclasses

import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.export import export_model
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.serving import catalogue
from tfvisrec.training import building
from test_tables import copies_on_read  # noqa: E402  (tests/serving is on the path)

pytestmark = pytest.mark.xdist_group("serving-models")
IMAGE_SIZE = 32
SMALL = dict(embedding_dim=4, visual_dim=4, image_size=IMAGE_SIZE, fc_width=8, dropout=0.0,
             time_epochs=2, trainable_backbone_layers=-1)
# The SAERS ablations are the class of saers_fixed with parts switched off (their scores are
# checked against numpy in tests/models/test_saers.py); exporting each would add ~10 s.
ABLATIONS = {"saf_only", "vbpr_saf", "saers_no_saf"}
# outfit models (PAN, FHN) score outfits, not items: tests/models/test_pan_serving.py
USER_MODELS = [n for n in registry.names() if n not in ("attributes", "gan") and n not in ABLATIONS
               and not registry.get(n).scores_outfits]   # the attribute classifier and the GAN score no users
# Settings that serve a model another way, by test name → (registered name, settings): VisRank's
# max pooling scores the catalogue's features, which the servable takes from its unit features.
VARIANTS = {"visrank_max": ("visrank", dict(visrank_pooling="max"))}


def _small_config(name, **settings):
    """The model's config with the SMALL values it reads (and `settings`)."""
    read = {f.name for f in dataclasses.fields(registry.config_class(name))}
    return registry.new_config(name, **{k: v for k, v in SMALL.items() if k in read}, **settings)


def _build(name, dataset):
    registered, settings = VARIANTS.get(name, (name, {}))
    model_config = _small_config(registered, **settings)
    return building.build_model(model_config, dataset)


def _reference_scores(model, dataset, users):
    """x̂(u, i) [len(users), items] through the model's own `score` on the trainer's features."""
    keys = model.item_feature_keys
    table = ItemFeatureTable.for_model(model, dataset, cache="decode")
    items = table.lookup(np.arange(dataset.num_items))
    if schema.TIME in keys:
        items[schema.TIME] = tf.fill([dataset.num_items],
                                     tf.constant(catalogue.latest_time(dataset), tf.int64))
    return np.stack([model.score(tf.fill([dataset.num_items], tf.constant(u, tf.int64)), items,
                                 training=False).numpy() for u in users])


@pytest.mark.parametrize("name", USER_MODELS + list(VARIANTS))
def test_registered_model_exports_with_its_signatures(world, tmp_path, name):
    dataset, _ = world
    model = _build(name, dataset)
    path = export_model(model, dataset, str(tmp_path / name), top_k=6)
    loaded = tf.saved_model.load(path)
    signatures = loaded.signatures
    expected = {"recommend", "score", "serving_default"}
    if schema.IMAGE in model.item_feature_keys and set(model.item_feature_keys) <= catalogue.COLD_START_KEYS:
        expected |= {"score_images", "embed_items"}
    expected |= set(model.extra_signatures)
    assert set(signatures) == expected
    if "explain" in signatures:
        _check_explanation(model, dataset, signatures["explain"])
    users = [1, 10]
    scores = _reference_scores(model, dataset, users)
    out = signatures["score"](user=tf.constant(["u01", "u10"]),
                              items=tf.constant([dataset.item_ids[:5], dataset.item_ids[-5:]]))
    np.testing.assert_allclose(out["scores"].numpy(), [scores[0, :5], scores[1, -5:]],
                               rtol=1e-4, atol=1e-5)
    top = signatures["recommend"](user=tf.constant(["u10"]), k=tf.constant([6]))
    seen = dataset.user_items(("train",))[10]
    got_ids = [dataset.item_ids.index(i.decode()) for i in top["item_ids"].numpy()[0]]
    assert not set(got_ids) & set(seen.tolist())
    np.testing.assert_allclose(top["scores"].numpy()[0], scores[1, got_ids], rtol=1e-4, atol=1e-5)
    unseen = np.delete(scores[1], seen)
    np.testing.assert_allclose(top["scores"].numpy()[0], np.sort(unseen)[::-1][:6],
                               rtol=1e-4, atol=1e-5)
    for table in _served_tables(loaded):  # after `score` gathered rows of them
        assert not copies_on_read(table), f"{table.name} is copied by every dense read"


def _served_tables(loaded):
    """The numeric variables the servable itself holds (catalogue, seen items, regions)."""
    tables = [getattr(loaded, name) for name in ("catalogue_columns", "seen_values", "seen_row_splits")
              if hasattr(loaded, name)]
    tables += list(getattr(loaded, "catalogue_features", {}).values())
    if hasattr(loaded, "explanation"):
        tables += [loaded.explanation.boxes, loaded.explanation.classes]
    return tables


def _check_explanation(model, dataset, explain):
    """The served explanation is the model's own `explain`, with names for indices."""
    from tfvisrec.data.region_file import read_regions, regions_path
    users, items = np.array([1, 10, 10]), np.array([0, 3, 7])
    keys = model.item_feature_keys + schema.REGION_KEYS[1:]
    expected = model.explain(tf.constant(users), ItemFeatureTable(dataset, keys, image_size=IMAGE_SIZE).lookup(items))
    out = explain(user=tf.constant([dataset.user_ids[u] for u in users]),
                  item=tf.constant([dataset.item_ids[i] for i in items]))
    regions = read_regions(regions_path(dataset), dataset.num_items)
    np.testing.assert_allclose(out["weights"].numpy(), expected["weights"].numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["boxes"].numpy(), regions.boxes[items])
    assert out["attributes"].numpy().tolist() == [[n.encode() for n in regions.names]] * 3
    names = [[regions.values[a][c].encode() for a, c in enumerate(row)] for row in regions.classes[items]]
    assert out["classes"].numpy().tolist() == names
    top = expected["top_attribute"].numpy()
    assert out["top_attribute"].numpy().tolist() == [regions.names[a].encode() for a in top]


def test_attribute_classifier_is_not_servable_for_users(world, tmp_path):
    """It is registered for the trainer (backbone pretraining) but scores no users."""
    dataset, _ = world
    model = registry.get("attributes")(DataInfo.from_dataset(dataset), _small_config("attributes"))
    with pytest.raises(TypeError, match="does not score users"):
        export_model(model, dataset, str(tmp_path / "attributes"), top_k=6)
    assert not (tmp_path / "attributes").exists()   # no model folder either
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():   # the refusal left the process as it was
        pass


@pytest.mark.parametrize("name", ["dvbpr", "vbpr", "imgrec_ete"])
def test_building_a_model_decodes_no_image_and_reads_no_feature(world, monkeypatch, name):
    """Variables come from DataInfo and the declared input specs (what export and evaluation
    rely on to load a trained model cheaply), not from a training batch."""
    dataset, _ = world

    def refuse(*args, **kwargs):
        raise AssertionError("building a model read item data")

    monkeypatch.setattr(type(dataset), "image_bytes", refuse)
    monkeypatch.setattr(np, "load", refuse if name != "vbpr" else _header_only(np.load))
    model = _build(name, dataset)
    assert model.trainable_variables and all(v.shape.is_fully_defined() for v in model.variables)


def _header_only(load):
    """np.load that allows memory-mapping (the .npy header: the feature width) only."""
    def guarded(path, *args, mmap_mode=None, **kwargs):
        if mmap_mode != "r":
            raise AssertionError("building a model loaded the features")
        return load(path, *args, mmap_mode=mmap_mode, **kwargs)
    return guarded
