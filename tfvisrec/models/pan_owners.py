"""In graph: is outfit O one of user v's own outfits? (PAN's training negatives never are.)

A user's outfits, for training, are her positives of the training split of the dataset's
outfits table, an outfit the same item in every slot (`data/outfit_owners.py`; the
evaluation's personal questions use every split, training knows no held-out choice). Other users can choose an outfit identical to one of hers, so neither the
random negative, nor a hard negative (another row's positive), nor the user-specific loss's
pair (u_n, O_j) (O_j chosen by u_m) is sure to be a negative for the user it is scored for;
`compute_loss` leaves out those that are hers.

The lookup holds the numpy arrays of `OutfitOwners` as constants and searches them with
`tf.searchsorted`: no lookup-table resource, so nothing is added to what a SavedModel tracks.
It is a plain object, not a Keras layer, and the model holds no list of its tensors.
"""
import tensorflow as tf

from tfvisrec.data.outfit_owners import OutfitOwners


class OwnOutfits:
    """`outfit_ids(outfits)` and `owned(users, ids)` of the numpy module, in graph."""

    def __init__(self, owners: OutfitOwners):
        self._prefix_keys = tuple(tf.constant(keys, tf.int64) for keys in owners.prefix_keys)
        self._owner_keys = tf.constant(owners.owner_keys, tf.int64)
        self._item_radix = tf.constant(owners.item_radix, tf.int64)
        self._num_users = tf.constant(owners.num_users, tf.int64)

    def outfit_ids(self, outfits):
        """int64 [N]: the id of each outfit [N, S] among the table's outfits, −1 for none of them."""
        outfits = tf.cast(outfits, tf.int64)
        ids = tf.zeros(tf.shape(outfits)[:1], tf.int64)
        found = tf.ones(tf.shape(outfits)[:1], tf.bool)
        for s, sorted_keys in enumerate(self._prefix_keys):
            ids, found_here = _find(sorted_keys, ids * self._item_radix + outfits[:, s] + 1)
            found &= found_here
        return tf.where(found, ids, tf.constant(-1, tf.int64))

    def owned(self, users, ids):
        """bool, the shape of `users` and `ids` (broadcast): whether outfit id `ids` is one that
        user `users` chose (False for id −1)."""
        users, ids = tf.cast(users, tf.int64), tf.cast(ids, tf.int64)
        keys = tf.maximum(ids, 0) * self._num_users + users
        _, found = _find(self._owner_keys, tf.reshape(keys, [-1]))
        return tf.reshape(found, tf.shape(keys)) & (ids >= 0)

    def owns(self, users, outfits):
        """bool [N]: whether outfit `outfits`[n] [S] is identical to one that user `users`[n] chose."""
        return self.owned(users, self.outfit_ids(outfits))


def _find(sorted_keys, keys):
    """→ (index of each key [N] in `sorted_keys`, clipped into range; whether it is there)."""
    size = tf.shape(sorted_keys, out_type=tf.int64)[0]
    if sorted_keys.shape[0] == 0:
        return tf.zeros_like(keys), tf.zeros(tf.shape(keys), tf.bool)
    index = tf.minimum(tf.searchsorted(sorted_keys, keys, out_type=tf.int64), size - 1)
    return index, tf.equal(tf.gather(sorted_keys, index), keys)
