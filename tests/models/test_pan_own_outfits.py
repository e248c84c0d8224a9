"""PAN's training negatives are never an outfit the user chose herself in training, though
another user chose it too: the owners' lookup (numpy and in graph) against a brute-force
reference, and each kind of negative (random, hard, the user-specific loss's) on a hand-made
batch where two users share a training outfit, the loss against numpy; a held-out outfit of
hers stays a negative (training knows no held-out choice)."""
import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.outfit_owners import outfit_owners, outfit_ids, owns
from tfvisrec.data.outfits import Outfits, OutfitTable
from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.pan_owners import OwnOutfits

# users 0 and 1 nearest each other in code, so are 2 and 3; user 0 is 5 bits from user 3, 6 from 2
CODES = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, -1], [-1, -1, -1, -1, -1, -1], [-1, -1, -1, -1, -1, 1]])
USERS = np.array([0, 1, 2, 3])


@pytest.fixture(scope="module")
def shared_outfit_dataset(tmp_path_factory):
    """A tiny outfit world where user 1's first training outfit is user 0's second one."""
    world = make_outfit_world(OutfitWorldConfig(num_users=5, items_per_slot=8, outfits_per_user=5,
                                                valid_per_user=1, test_per_user=1, candidates=40))
    train = world.table.positives["train"]
    train.items[np.flatnonzero(train.users == 1)[0]] = train.items[np.flatnonzero(train.users == 0)[1]]
    return load_dataset(write_outfit_world(world, str(tmp_path_factory.mktemp("o") / "w")))


def _brute_owns(table, users, outfits, splits=("train", "valid", "test")):
    mine = {(int(u), tuple(o)) for name in splits for u, o in zip(table.positives[name].users,
                                                                   table.positives[name].items)}
    return np.array([(int(u), tuple(o)) in mine for u, o in zip(users, outfits)])


def test_owners_lookup_is_the_brute_force_one_in_numpy_and_in_graph():
    rng = np.random.default_rng(3)
    items = rng.integers(-1, 6, size=(40, 3))           # few items: many identical outfits, empty slots
    users = rng.integers(0, 7, size=40)
    table = OutfitTable(["top", "bottom", "shoes"], np.zeros(6, np.int8),
                        {"train": Outfits(users[:25], items[:25]), "valid": Outfits(users[25:30], items[25:30]),
                         "test": Outfits(users[30:], items[30:])})
    asked_users = np.concatenate([users, rng.integers(0, 7, size=200)])
    asked = np.concatenate([items, rng.integers(-1, 6, size=(200, 3))])
    expected = _brute_owns(table, asked_users, asked)
    assert 0 < expected.sum() < len(expected)
    owners = outfit_owners(table, num_users=7)
    np.testing.assert_array_equal(owns(owners, asked_users, asked), expected)
    lookup = OwnOutfits(owners)
    np.testing.assert_array_equal(lookup.owns(tf.constant(asked_users), tf.constant(asked)).numpy(), expected)
    np.testing.assert_array_equal(lookup.outfit_ids(tf.constant(asked)).numpy(), outfit_ids(owners, asked))
    # [B, B] at once, as the hard negatives ask: row j's outfit is row i's user's
    ids = lookup.outfit_ids(tf.constant(items))
    square = lookup.owned(tf.constant(users)[:, None], ids[None, :]).numpy()
    np.testing.assert_array_equal(square, [_brute_owns(table, np.full(40, u), items) for u in users])
    # training's: the training split's choices only
    in_training = _brute_owns(table, asked_users, asked, splits=("train",))
    assert 0 < in_training.sum() < expected.sum()
    training_lookup = OwnOutfits(outfit_owners(table, num_users=7, splits=("train",)))
    np.testing.assert_array_equal(training_lookup.owns(tf.constant(asked_users), tf.constant(asked)).numpy(),
                                  in_training)


def _model(dataset, **config):
    cfg = registry.new_config("pan_ul_hn", code_dim=6, vse_weight=0.0, l2_user=0.0, hard_skip_ratio=0.0, **config)
    model = registry.get("pan_ul_hn")(DataInfo.from_dataset(dataset), cfg)
    model.prepare(dataset)
    model.build_variables()
    model.user_embedding.assign(tf.concat([tf.constant(CODES * 0.5, tf.float32), model.user_embedding[4:]], 0))
    return model


def _batch(dataset, model):
    """Rows of users 0-3; row 1's positive is also user 0's (a training outfit of hers); row 2's
    random negative is user 2's own training outfit, row 3's user 3's own test outfit (a
    negative still: training knows no held-out choice)."""
    table = model.outfit_table
    nth = lambda split, u, n=0: table.positives[split].items[np.flatnonzero(table.positives[split].users == u)[n]]
    pos = np.stack([nth("train", 0), nth("train", 1), nth("train", 2), nth("train", 3)])
    neg = np.array([[4, 12, 20], [5, 13, 21], nth("train", 2, 1), nth("test", 3)])
    training = ("train",)
    assert not _brute_owns(table, USERS[[0, 1, 3]], neg[[0, 1, 3]], training).any()
    assert _brute_owns(table, [3], [neg[3]]).all()                 # hers, held out
    assert _brute_owns(table, [1, 0], [pos[1], pos[1]], training).all()      # the shared outfit
    assert not _brute_owns(table, [1], [pos[0]], training).any()
    batch = {"user": tf.constant(USERS, tf.int64), "pos": {"item": tf.constant(pos, tf.int64)},
             "neg": {"item": tf.constant(neg, tf.int64)}}
    return batch, pos, neg


def _scores(model, users, outfits):
    return model.outfit_scores(tf.constant(users, tf.int64), tf.constant(outfits, tf.int64)).numpy()


def _softplus_mean(differences):
    return np.mean(np.log1p(np.exp(-np.asarray(differences))))


def test_a_random_negative_that_is_her_own_outfit_leaves_the_bpr_loss(shared_outfit_dataset):
    model = _model(shared_outfit_dataset, hard_negative_ratio=0.0, user_loss_weight=0.0)
    batch, pos, neg = _batch(shared_outfit_dataset, model)
    kept = [0, 1, 3]                                     # row 2's negative is user 2's own; row 3's stays
    expected = _softplus_mean(_scores(model, USERS[kept], pos[kept]) - _scores(model, USERS[kept], neg[kept]))
    np.testing.assert_allclose(float(model.compute_loss(batch, training=False)), expected, rtol=1e-5)


def test_a_hard_negative_is_never_another_users_copy_of_her_outfit(shared_outfit_dataset):
    """Row 0 (user 0): the nearest user in code is row 1's, whose outfit is one of user 0's, so
    the next nearest, row 3's, is drawn (k = 1); row 1 (user 1) draws row 0's outfit."""
    model = _model(shared_outfit_dataset, hard_negative_ratio=0.5, hard_k_ratio=0.25, user_loss_weight=0.0)
    batch, pos, neg = _batch(shared_outfit_dataset, model)
    kept = [0, 1, 3]
    y_pos = _scores(model, USERS, pos)
    random_part = y_pos[kept] - _scores(model, USERS[kept], neg[kept])
    hard_part = y_pos[:2] - _scores(model, USERS[:2], pos[[3, 0]])
    expected = _softplus_mean(np.concatenate([random_part, hard_part]))
    np.testing.assert_allclose(float(model.compute_loss(batch, training=False)), expected, rtol=1e-5)


def test_the_user_specific_loss_skips_another_user_who_chose_the_same_outfit(shared_outfit_dataset):
    """(u_m, u_n, O_j) with u_n = the previous row's user: row 1's O_j is user 0's own outfit too,
    so (user 0, O_j) is no negative for user 0."""
    model = _model(shared_outfit_dataset, hard_negative_ratio=0.0, user_loss_weight=0.7)
    batch, pos, neg = _batch(shared_outfit_dataset, model)
    kept = [0, 1, 3]
    bpr = _softplus_mean(_scores(model, USERS, pos)[kept] - _scores(model, USERS[kept], neg[kept]))
    others = np.roll(USERS, 1)
    rows = [0, 2, 3]                                     # row 1: user 0 chose pos[1] herself
    user_loss = _softplus_mean(_scores(model, USERS[rows], pos[rows]) - _scores(model, others[rows], pos[rows]))
    np.testing.assert_allclose(float(model.compute_loss(batch, training=False)), bpr + 0.7 * user_loss, rtol=1e-5)
