"""PAN's online user-aware hard negatives: in a batch of (u, O_j, O_k) triples, a hard
negative of row u is the positive outfit of a user whose code is close to u's.

Users with near codes have similar taste, so their outfits are compatible and nearly to u's
liking: harder to rank below O_j than a randomly mixed outfit. For each row, the other rows
are ranked by the Hamming distance between binary user codes, (D − b_u·b_v)/2 (rows of the
same user excluded, and, given `excluded`, the rows whose outfit is one of u's own, chosen by
another user too: `pan_owners.py`), and one of the ⌈k_ratio · B⌉ nearest is drawn. The first
round(hard_ratio · B) rows (the batch is shuffled already, so these are a random share) get
their hard negative *beside* their random one: hard : random = hard_ratio (PAN: 0.5), every
random negative kept.
"""
import tensorflow as tf


def hamming_distances(user_codes):
    """[B, D] codes in {−1, +1} → [B, B] Hamming distances (D − b_u·b_v) / 2."""
    dim = tf.cast(tf.shape(user_codes)[-1], user_codes.dtype)
    return (dim - tf.matmul(user_codes, user_codes, transpose_b=True)) / 2.0


def mine_hard_negatives(users, user_codes, pos_items, hard_ratio: float, k_ratio: float, seed,
                        skip_ratio: float = 0.0, excluded=None):
    """→ (rows [H] int32, hard [H, S]): for each of the first round(hard_ratio · B) rows whose
    batch holds another user, the row's index and the positive outfit of a random row among the
    ⌈k_ratio · B⌉ users nearest in code, the ⌊skip_ratio · B⌋ very nearest left out
    (semi-hard). `seed`: int32/64 [2] (stateless). `excluded` (bool [B, B], optional): row j's
    outfit is never row i's hard negative where excluded[i, j] (e.g. it is one of row i's user's
    own outfits, chosen by another user too); left out as the rows of the same user are."""
    batch = tf.shape(users)[0]
    distances = hamming_distances(tf.stop_gradient(user_codes))
    same = tf.equal(users[:, None], users[None, :])
    if excluded is not None:
        same |= excluded
    distances = tf.where(same, tf.constant(float("inf"), distances.dtype), distances)
    k = tf.clip_by_value(tf.cast(tf.math.ceil(k_ratio * tf.cast(batch, tf.float32)), tf.int32), 1, batch)
    nearest_negated, nearest = tf.math.top_k(-distances, k=k)
    skip = tf.clip_by_value(tf.cast(tf.math.floor(skip_ratio * tf.cast(batch, tf.float32)), tf.int32), 0, k - 1)
    pick = tf.random.stateless_uniform([batch], seed=seed, minval=skip, maxval=k, dtype=tf.int32)
    chosen = tf.gather(nearest, pick, batch_dims=1)
    found = tf.math.is_finite(tf.gather(nearest_negated, pick, batch_dims=1))
    num_hard = tf.cast(tf.round(hard_ratio * tf.cast(batch, tf.float32)), tf.int32)
    rows = tf.cast(tf.where(found & (tf.range(batch) < num_hard))[:, 0], tf.int32)
    return rows, tf.gather(pos_items, tf.gather(chosen, rows))
