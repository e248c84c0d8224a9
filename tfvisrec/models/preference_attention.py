"""SAERS' building blocks on attribute region features (Hou et al. 2019, "Explainable Fashion
Recommendation: A Semantic Attribute Region Guided Approach", IJCAI, §3.2–3.3).

- `AttributeProjections`: one matrix E^k per attribute k maps its region feature f_a^k(i)
  [C] into the d-dimensional preference space, E^k f_a^k(i).
- `PreferenceAttention` (the Fine-grained Preference Attention, eq. 5–6): a two-layer MLP on
  the concatenation [f(u); E^k f_a^k(i)] scores how much user u cares about attribute k of
  item i, and a softmax over the attributes turns the scores into weights α_ui^k:

      eq. 5   β_ui^k = wᵀ ReLU(W [f(u); E^k f_a^k(i)] + b)
      eq. 6   α_ui^k = exp(β_ui^k) / Σ_k' exp(β_ui^k')

  W [f(u); e] is computed as W_u f(u) + W_e e, so the user half is computed once per user and
  the item half once per item when a user block meets a catalogue batch. The output bias of
  the second layer is left out: it is the same for every attribute, so the softmax cancels it.
"""
import tensorflow as tf
import tf_keras as keras


class AttributeProjections(keras.layers.Layer):
    """f_a [..., A, C] → E^k f_a^k for every attribute k: [..., A, d] (E stored as [A, C, d])."""

    def __init__(self, num_attributes: int, channels: int, dim: int, init_stddev: float, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.matrices = self.add_weight(
            name="E", shape=[num_attributes, channels, dim], dtype=tf.float32,
            initializer=keras.initializers.RandomNormal(stddev=init_stddev, seed=seed))

    def call(self, region_features):
        # One [M, C] × [C, d] product per attribute (a batch matmul over A): an einsum that
        # broadcasts E over the leading dimensions would build a per-row gradient of E.
        region_features = tf.convert_to_tensor(region_features, tf.float32)
        leading = tf.shape(region_features)[:-2]
        count, channels = self.matrices.shape[0], self.matrices.shape[1]
        per_attribute = tf.transpose(tf.reshape(region_features, [-1, count, channels]), [1, 0, 2])
        projected = tf.transpose(tf.matmul(per_attribute, self.matrices), [1, 0, 2])     # [M, A, d]
        return tf.reshape(projected, tf.concat([leading, tf.shape(projected)[1:]], 0))


class PreferenceAttention(keras.layers.Layer):
    """Eq. 5–6: attention weights α [..., A] of users' preferences f(u) over attribute embeddings."""

    def __init__(self, dim: int, hidden: int, seed: int, **kwargs):
        super().__init__(**kwargs)
        glorot = lambda offset: keras.initializers.GlorotUniform(seed=seed + offset)
        self.user_kernel = self.add_weight(name="W_u", shape=[dim, hidden], initializer=glorot(0))
        self.attribute_kernel = self.add_weight(name="W_e", shape=[dim, hidden], initializer=glorot(1))
        self.hidden_bias = self.add_weight(name="b", shape=[hidden], initializer="zeros")
        self.output_vector = self.add_weight(name="w", shape=[hidden], initializer=glorot(2))

    def user_part(self, user_vectors):
        """W_u f(u): [..., d] → [..., h]."""
        return tf.tensordot(user_vectors, self.user_kernel, axes=1)

    def attribute_part(self, attribute_embeddings):
        """W_e E^k f_a^k(i): [..., A, d] → [..., A, h]."""
        return tf.tensordot(attribute_embeddings, self.attribute_kernel, axes=1)

    def scores(self, user_part, attribute_part):
        """β (eq. 5) from parts that broadcast: user [..., 1, h] + attributes [..., A, h] → [..., A]."""
        hidden = tf.nn.relu(user_part + attribute_part + self.hidden_bias)
        return tf.tensordot(hidden, self.output_vector, axes=1)

    def call(self, user_vectors, attribute_embeddings):
        """α (eq. 6) for user vectors [..., d] against attribute embeddings [..., A, d] of the
        same leading shape → [..., A]."""
        user = self.user_part(user_vectors)[..., None, :]
        return tf.nn.softmax(self.scores(user, self.attribute_part(attribute_embeddings)), axis=-1)

    def penalty(self):
        """Σ ‖W‖² over the MLP's kernels (the paper's λ‖Θ‖² on them)."""
        return tf.add_n([tf.reduce_sum(tf.square(v)) for v in
                         (self.user_kernel, self.attribute_kernel, self.output_vector)])
