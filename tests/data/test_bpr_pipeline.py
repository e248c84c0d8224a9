"""The BPR triplet pipeline's negatives: never a training positive, uniform over the rest
(as the pointwise pipeline's, tests/models/test_imgrec.py), reproducible for a seed."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data import pipelines
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.data.negatives import NEGATIVE_TRIES, NegativeSampler

NUM_ITEMS = 50
FREE_OF_USER_0 = [17, 33]  # user 0 bought every other item
TRAIN = {0: [i for i in range(NUM_ITEMS) if i not in FREE_OF_USER_0],
         1: [4, 9, 30],
         2: list(range(0, NUM_ITEMS, 5)) + list(range(1, 40, 5))}


def _dataset(train=TRAIN, num_items=NUM_ITEMS):
    pairs = [(u, i) for u, items in train.items() for i in items]
    users, items = (np.array(x, np.int64) for x in zip(*pairs))
    empty = dataset_lib.Split(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    splits = {"train": dataset_lib.Split(users, items, np.arange(len(users), dtype=np.int64)),
              "valid": empty, "test": empty}
    table = dataset_lib.item_table(num_items, splits["train"].items)
    num_users = max(train) + 1
    return dataset_lib.Dataset(path=None, meta={}, user_ids=[f"u{u}" for u in range(num_users)],
                               item_ids=[f"i{i}" for i in range(num_items)], **splits, **table)


def _bought(dataset):
    bought = np.zeros((dataset.num_users, dataset.num_items), bool)
    bought[dataset.train.users, dataset.train.items] = True
    return bought


def _batches(dataset, **kwargs):
    settings = dict(batch_size=16, seed=3, epoch=0, num_negatives=1)
    settings.update(kwargs)
    table = ItemFeatureTable(dataset, ("item",))
    pipeline = pipelines.make_pipeline("bpr_triplets", dataset=dataset, item_table=table, **settings)
    return [{"user": b["user"].numpy(), "pos": b["pos"]["item"].numpy(), "neg": b["neg"]["item"].numpy()}
            for b in pipeline]


@pytest.mark.parametrize("num_negatives", [1, 4])
def test_a_user_who_bought_all_but_two_items_never_gets_a_positive(num_negatives):
    dataset = _dataset()
    bought = _bought(dataset)
    negatives_of_user_0 = []
    batches = _batches(dataset, num_negatives=num_negatives, steps_per_epoch=96)
    for batch in batches:
        neg = batch["neg"].reshape(len(batch["user"]), -1)
        assert not bought[batch["user"][:, None], neg].any()
        negatives_of_user_0.append(neg[batch["user"] == 0].reshape(-1))
    drawn = np.concatenate(negatives_of_user_0)
    assert len(batches) == 96 and drawn.size >= 22 * 48 * num_negatives  # 22 passes over 69 rows
    assert set(drawn.tolist()) == set(FREE_OF_USER_0)
    assert abs(np.mean(drawn == FREE_OF_USER_0[0]) - 0.5) < 0.1


def test_negatives_are_uniform_over_the_non_positives():
    dataset = _dataset()
    sampler = NegativeSampler(dataset.train.users, dataset.train.items, 3, NUM_ITEMS)
    bought = _bought(dataset)
    for user in range(3):
        drawn = sampler.sample(tf.fill([4000], tf.constant(user, tf.int64)), 4,
                               tf.constant([11, user], tf.int64)).numpy().reshape(-1)
        free = np.flatnonzero(~bought[user])
        counts = np.bincount(drawn, minlength=NUM_ITEMS)
        assert counts[bought[user]].sum() == 0
        np.testing.assert_allclose(counts[free] / drawn.size, 1 / free.size, atol=0.015)


def test_a_successful_try_is_the_plain_rejection_samplers_draw():
    """Where one of the 8 uniform candidates is not a positive, the first such is returned,
    so seeded runs keep the numbers the rejection-only sampler gave them."""
    dataset = _dataset()
    sampler = NegativeSampler(dataset.train.users, dataset.train.items, 3, NUM_ITEMS)
    bought = _bought(dataset)
    users = np.array([0, 1, 2, 0, 1, 2] * 50)
    seed = tf.constant([7, 8], tf.int64)
    got = sampler.sample(tf.constant(users), 3, seed).numpy()
    tries = tf.random.stateless_uniform([len(users), 3, NEGATIVE_TRIES], seed, minval=0,
                                        maxval=NUM_ITEMS, dtype=tf.int64).numpy()
    accepted = ~bought[users[:, None, None], tries]
    some = accepted.any(axis=-1)
    first = np.take_along_axis(tries, accepted.argmax(axis=-1)[..., None], -1)[..., 0]
    np.testing.assert_array_equal(got[some], first[some])
    assert (~some).sum() > 0  # user 0 exhausts its tries here; those draws come from the fallback
    assert not bought[users[:, None], got].any()


def test_reproducible_and_resumable():
    dataset = _dataset()
    first, again = _batches(dataset, epoch=2), _batches(dataset, epoch=2)
    resumed = _batches(dataset, epoch=2, start_batch=2)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["neg"], b["neg"])
    assert len(resumed) == len(first) - 2
    for a, b in zip(first[2:], resumed):
        for key in ("user", "pos", "neg"):
            np.testing.assert_array_equal(a[key], b[key])
    other = _batches(dataset, epoch=3)
    assert not all(np.array_equal(a["neg"], b["neg"]) for a, b in zip(first, other))


def test_a_user_who_bought_everything_is_a_data_error():
    dataset = _dataset(train={0: [1, 2], 1: list(range(NUM_ITEMS))})
    with pytest.raises(DataError, match="'u1' interacted with every item"):
        _batches(dataset)
