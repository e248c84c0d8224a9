"""A model that owns its train step (two networks, two optimizers, alternating updates, as
the conditional LSGAN will) trains through the shared `fit()`: every network and optimizer
is checkpointed, and a stopped run resumes exactly."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfvisrec import config as config_lib
from tfvisrec.data import schema
from tfvisrec.models.base import Recommender
from tfvisrec.models import registry
from tfvisrec.models.registry import register
from tfvisrec.training import fit

LATENT = 2


@register("test_adversarial_toy")
class AdversarialToy(Recommender):
    """LSGAN (Mao et al. 2017; DVBPR eq. 7) on 2-D points: the "real" sample of a training
    row is its positive item's fixed point; G(z) = A z + b; D a small MLP. The discriminator
    step (SGD) and the generator step (Adam) alternate inside one `train_step`. The noise z
    of a batch is drawn from a seed made of the batch's ids, so a resumed run sees the same z."""

    item_feature_keys = (schema.ITEM,)
    factorised = False
    validation_metric = "negative_mean_gap"

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        rng = np.random.default_rng(0)
        self.points = tf.constant(rng.normal(size=(data_info.num_items, 2)) * 0.3 + [3.0, -2.0],
                                  tf.float32)
        self.generator = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(1),
                                            name="generator")
        self.discriminator = keras.Sequential(
            [keras.layers.Dense(8, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(2)),
             keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(3))],
            name="discriminator")

    def build_variables(self):
        self.discriminator(self.generator(tf.zeros([1, LATENT])))

    def create_optimizers(self, make_optimizer):
        generator = keras.optimizers.Adam(0.05)
        discriminator = keras.optimizers.SGD(0.1)
        generator.build(self.generator.trainable_variables)
        discriminator.build(self.discriminator.trainable_variables)
        return {"generator_optimizer": generator, "discriminator_optimizer": discriminator}

    def _noise(self, batch):
        ids = tf.cast(batch["pos"][schema.ITEM], tf.int32)
        seed = tf.stack([tf.reduce_sum(ids * 7919), tf.reduce_sum(tf.cast(batch["user"], tf.int32))])
        return tf.random.stateless_uniform([tf.shape(ids)[0], LATENT], seed, -1.0, 1.0)

    def train_step(self, batch, optimizers):
        real = tf.gather(self.points, batch["pos"][schema.ITEM])
        z = self._noise(batch)
        with tf.GradientTape() as tape:
            d_loss = (tf.reduce_mean(tf.square(self.discriminator(real) - 1.0))
                      + tf.reduce_mean(tf.square(self.discriminator(self.generator(z)))))
        d_vars = self.discriminator.trainable_variables
        optimizers["discriminator_optimizer"].apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.square(self.discriminator(self.generator(z)) - 1.0))
        g_vars = self.generator.trainable_variables
        optimizers["generator_optimizer"].apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return d_loss + g_loss

    def score(self, users, items, training=False):
        return tf.squeeze(self.discriminator(tf.gather(self.points, items[schema.ITEM])), -1)

    def gap(self):
        """Distance between the generated and the real points' means (0 = matched)."""
        z = tf.random.stateless_uniform([512, LATENT], [0, 1], -1.0, 1.0)
        return float(tf.norm(tf.reduce_mean(self.generator(z), 0) - tf.reduce_mean(self.points, 0)))

    def validation_score(self, dataset):
        return -self.gap()


def _configs(model_dir, dataset, **train):
    model = registry.new_config("test_adversarial_toy")
    values = dict(dataset=dataset, model_dir=str(model_dir), epochs=8, batch_size=32,
                  checkpoint_every=7, verbose=0, patience=0)
    values.update(train)
    return model, config_lib.TrainConfig(**values)


def _weights(model):
    weights = model.generator.weights + model.discriminator.weights
    return {f"{i}:{v.name.split('/')[-1]}": v.numpy() for i, v in enumerate(weights)}


def test_two_optimizers_train_through_fit_and_both_are_checkpointed(low_rank_dataset, tmp_path):
    model_config, train_config = _configs(tmp_path / "run", low_rank_dataset)
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.training import building
    untrained_gap = building.build_model(model_config, load_dataset(low_rank_dataset)).gap()
    model, summary = fit(model_config, train_config)
    assert summary["validation_metric"] == "negative_mean_gap"
    assert summary["best_validation"] > -untrained_gap / 4     # G's points moved onto the real ones
    reader = tf.train.load_checkpoint(str(tmp_path / "run" / "ckpt"))
    names = reader.get_variable_to_shape_map()
    for optimizer in ("generator_optimizer", "discriminator_optimizer"):
        assert reader.get_tensor(f"{optimizer}/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == summary["steps"]
        assert any(n.startswith(f"{optimizer}/_variables/") for n in names)      # its slots


def test_stopped_run_resumes_exactly(low_rank_dataset, tmp_path):
    straight_model, straight = fit(*_configs(tmp_path / "straight", low_rank_dataset))
    # stop mid-epoch at a step that is not a checkpoint multiple, then go on
    fit(*_configs(tmp_path / "resumed", low_rank_dataset, max_steps=penultimate_stop(straight)))
    resumed_model, resumed = fit(*_configs(tmp_path / "resumed", low_rank_dataset))
    assert resumed["resumed_from_step"] == penultimate_stop(straight)
    assert resumed["steps"] == straight["steps"]
    a, b = _weights(straight_model), _weights(resumed_model)
    assert a.keys() == b.keys() and a
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-7, err_msg=name)


def penultimate_stop(summary):
    steps_per_epoch = summary["history"][0]["steps"]
    return steps_per_epoch + steps_per_epoch // 2 + 1


def test_optimizer_names_may_not_shadow_the_checkpoint(low_rank_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(AdversarialToy, "create_optimizers",
                        lambda self, make: {"model": make()})
    with pytest.raises(ValueError, match="none of them 'model' or 'state'"):
        fit(*_configs(tmp_path / "bad", low_rank_dataset))


def test_create_optimizers_returning_nothing_is_named(low_rank_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(AdversarialToy, "create_optimizers", lambda self, make: None)
    with pytest.raises(ValueError, match=r"AdversarialToy.create_optimizers must return a dict .*\(got None\)"):
        fit(*_configs(tmp_path / "none", low_rank_dataset))
