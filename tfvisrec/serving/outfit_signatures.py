"""Serving signatures of the outfit models (PAN, FHN), registered with `signatures.signature`.

- `outfit_score`: user [B] string, items [B, S] string (catalogue ids, one per slot in the
  model's slot order, e.g. top, bottom, shoes; "" = empty slot) -> scores [B] float32 =
  y(u, O) (PAN eq. 4, real-valued codes).
- `recommend_outfit_item`: user [B], items [B, S] (the other slots filled, the one asked for
  left ""), slot [B] string (its name), k [B] int32 -> item_ids [B, max k], scores [B, max k]:
  the catalogue items of that slot that best complete the outfit for the user ("what shoes
  go with this for me"); k <= K, fixed at export. An item given in the slot asked for is left
  out of the outfit (the answer replaces it: "what shoes instead").

An item in a slot it does not belong to, an unknown id or slot name, a wrong width, fewer than
two items in an outfit, or a bad k is INVALID_ARGUMENT.

- `outfit_score_images` (exports holding the backbone that made the model's item feature maps:
  the export's `--feature_backbone`, by default the one `feature_maps.npz` records): user [B]
  string, images [B, S] JPEG/PNG bytes (photos of items, maybe never seen in training; "" =
  empty slot) -> scores [B] float32: each photo decoded and resized as
  `tfvisrec.vision.features` did for the catalogue, the backbone's feature maps
  (`vision.photo_maps`), then the model's item encoder and predictor, as `outfit_score`. A wrong
  width, fewer than two photos or an undecodable one is INVALID_ARGUMENT.
"""
import numpy as np
import tensorflow as tf

from tfvisrec.serving.signatures import signature
from tfvisrec.serving.tables import dense_gather

NEG_INF = float("-inf")


def _example_outfit(servable):
    """The ids of the first training outfit ("" for an empty slot)."""
    ids = servable.item_ids.numpy()
    outfit = servable.model.outfit_table.positives["train"].items[0]
    return [ids[i] if i >= 0 else b"" for i in outfit]


def _outfit_index(servable, items, free_slot=None):
    """Catalogue ids [B, S] -> item indices (-1 for ""), after checking the width and that
    every item stands in its own slot (`free_slot` [B]: a slot left for the caller to fill)."""
    model = servable.model
    num_slots = int(model.num_slots)
    empty = tf.equal(_one_per_slot(model, items, "items"), "")
    index = servable.item_index(tf.where(empty, servable.item_ids[0], items))
    index = tf.where(empty, tf.constant(-1, index.dtype), index)
    positions = tf.range(num_slots)[None, :]
    slot = tf.where(empty, positions, tf.gather(model.item_slot, tf.maximum(index, 0)))
    wrong = tf.not_equal(slot, positions)
    filled = tf.cast(~empty, tf.int32)
    if free_slot is not None:
        wrong &= tf.not_equal(positions, free_slot[:, None])
        filled *= tf.cast(tf.not_equal(positions, free_slot[:, None]), tf.int32)
        filled += 1
    checks = [tf.debugging.Assert(tf.logical_not(tf.reduce_any(wrong)),
                                  ["item(s) in a slot they do not belong to:", tf.boolean_mask(items, wrong)],
                                  summarize=10),
              _at_least_two(filled)]
    with tf.control_dependencies(checks):
        return tf.cast(index, tf.int64)


def _one_per_slot(model, values, name):
    """`values` [B, S] unchanged, after checking it has one column per slot."""
    num_slots = int(model.num_slots)
    width = tf.debugging.assert_equal(
        tf.shape(values)[1], num_slots,
        message=f"{name} must have {num_slots} columns, one per slot ({', '.join(model.outfit_table.slots)})")
    with tf.control_dependencies([width]):
        return tf.identity(values)


def _at_least_two(filled):
    return tf.debugging.Assert(tf.reduce_all(tf.reduce_sum(tf.cast(filled, tf.int32), 1) >= 2),
                               ["an outfit needs at least two items"])


def _is_outfit(name):
    return lambda s: name in s.model.extra_signatures


@signature("outfit_score", applies=_is_outfit("outfit_score"),
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "items": np.array([_example_outfit(s)], object)})
def outfit_score(servable):
    """See the module docstring."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None, None], tf.string, name="items")])
    def fn(user, items):
        user, items = servable.same_rows(user=user, items=items)
        users = servable.user_index(user)
        return {"scores": servable.model.outfit_scores(users, _outfit_index(servable, items))}

    return fn


def _example_photos(servable):
    """A grey photo in every slot (the warmup request's outfit)."""
    from tfvisrec.serving.catalogue import example_jpeg
    return [example_jpeg(servable.outfit_photos.image_size)] * int(servable.model.num_slots)


@signature("outfit_score_images",
           applies=lambda s: _is_outfit("outfit_score")(s) and s.outfit_photos is not None,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "images": np.array([_example_photos(s)], object)})
def outfit_score_images(servable):
    """See the module docstring."""
    model, photos = servable.model, servable.outfit_photos

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None, None], tf.string, name="images")])
    def fn(user, images):
        user, images = servable.same_rows(user=user, images=images)
        users = servable.user_index(user)
        filled = tf.not_equal(_one_per_slot(model, images, "images"), "")
        with tf.control_dependencies([_at_least_two(filled)]):
            flat, given = tf.reshape(images, [-1]), tf.reshape(filled, [-1])
        # only the photos given are decoded; an empty slot keeps zero maps, which the predictor skips
        maps = tf.scatter_nd(tf.where(given), photos(tf.boolean_mask(flat, given)),
                             tf.concat([tf.shape(flat, out_type=tf.int64), tf.constant(photos.map_shape, tf.int64)], 0))
        maps = tf.reshape(maps, [-1, model.num_slots, *photos.map_shape])
        return {"scores": model.outfit_scores_from_maps(users, maps, filled)}

    return fn


def _slot_candidates(model):
    """[S, N] the catalogue items of each slot, padded with -1, and the slot names."""
    item_slot = np.asarray(model.outfit_table.item_slot)
    per_slot = [np.flatnonzero(item_slot == s) for s in range(model.num_slots)]
    width = max(1, max(len(p) for p in per_slot))
    table = np.full((model.num_slots, width), -1, np.int64)
    for s, p in enumerate(per_slot):
        table[s, :len(p)] = p
    return table


@signature("recommend_outfit_item", applies=_is_outfit("recommend_outfit_item"),
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "items": np.array([_example_outfit(s)[:-1] + [b""]], object),
                                  "slot": np.array([s.model.outfit_table.slots[-1]], object),
                                  "k": np.array([min(5, s.top_k)], np.int32)})
def recommend_outfit_item(servable):
    """See the module docstring."""
    model = servable.model
    candidates = tf.constant(_slot_candidates(model))
    slot_names = tf.constant(list(model.outfit_table.slots))
    top_k = min(int(servable.top_k), int(candidates.shape[1]))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None, None], tf.string, name="items"),
                                  tf.TensorSpec([None], tf.string, name="slot"),
                                  tf.TensorSpec([None], tf.int32, name="k")])
    def fn(user, items, slot, k):
        user, items, slot, k = servable.same_rows(user=user, items=items, slot=slot, k=k)
        users = servable.user_index(user)
        matches = tf.equal(slot[:, None], slot_names[None, :])
        known = tf.debugging.Assert(tf.reduce_all(tf.reduce_any(matches, 1)),
                                    ["unknown slot name(s); slots are", slot_names, "got", slot], summarize=10)
        good_k = tf.debugging.Assert(tf.reduce_all((k >= 1) & (k <= top_k)),
                                     [f"k must be between 1 and K={top_k} (fixed at export); got", k], summarize=10)
        with tf.control_dependencies([known, good_k]):
            free = tf.argmax(tf.cast(matches, tf.int32), axis=1, output_type=tf.int32)
        outfits = _outfit_index(servable, items, free)
        options = tf.gather(candidates, free)                                   # [B, N]
        width = tf.shape(options)[1]
        is_free = tf.equal(tf.range(model.num_slots)[None, None, :], free[:, None, None])
        trial = tf.where(is_free, options[:, :, None], outfits[:, None, :])   # [B, N, S]
        scores = model.outfit_scores(tf.repeat(users, width), tf.reshape(trial, [-1, model.num_slots]))
        scores = tf.where(options >= 0, tf.reshape(scores, [-1, width]), NEG_INF)
        values, positions = tf.math.top_k(scores, top_k)
        chosen = tf.gather(options, positions, batch_dims=1)
        k_max = tf.reduce_max(k)
        valid = (tf.range(k_max)[None, :] < k[:, None]) & (values[:, :k_max] > NEG_INF)
        return {"item_ids": tf.where(valid, dense_gather(servable.item_ids, tf.maximum(chosen[:, :k_max], 0)), ""),
                "scores": tf.where(valid, values[:, :k_max], NEG_INF)}

    return fn
