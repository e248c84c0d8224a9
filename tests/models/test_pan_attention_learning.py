"""PAN's spatial attention (eq. 3) can learn where to look: on the outfit world's feature maps,
where an item's detail is readable only in its (marked) detail region, the attention and a
linear read-out of the pooled F'' trained to name the detail put their largest weight on
the detail region far more often than a uniform look (1 / (H·W))."""
import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world
from tfvisrec.models.pan_layers import UserSpatialAttention


def test_spatial_attention_learns_to_look_at_the_detail_region():
    world = make_outfit_world(OutfitWorldConfig(num_users=4, items_per_slot=40, outfits_per_user=4,
                                                valid_per_user=1, test_per_user=1, seed=5))
    keras.utils.set_random_seed(0)
    maps = tf.constant(world.feature_maps)
    n, h, w, _ = world.feature_maps.shape
    users = tf.zeros([n, 8])
    attention = UserSpatialAttention(kernel_size=7)
    head = keras.layers.Dense(world.config.num_details)
    optimizer = keras.optimizers.Adam(0.01)

    def where(training):
        looked, weights = attention(maps, users, training=training)
        return head(tf.reduce_mean(looked, axis=[1, 2])), tf.reshape(weights, [n, h * w])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits, _ = where(True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(world.item_detail, logits))
        variables = attention.trainable_variables + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    for _ in range(200):
        step()
    _, weights = where(False)
    weights = weights.numpy()
    on_detail = np.argmax(weights, axis=1) == world.detail_cell
    share = weights[np.arange(n), world.detail_cell] / weights.sum(axis=1)
    print("argmax on the detail region", on_detail.mean(), "mass share", share.mean())
    assert on_detail.mean() > 4.0 / (h * w)
    assert share.mean() > 1.2 / (h * w)
