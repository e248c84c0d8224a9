"""Splits against numpy references on tiny cases."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401
from tfvisrec.data import split as splitting


def _records(seed=3, num_users=6, num_items=15):
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(num_users):
        chosen = rng.choice(num_items, size=3 + u, replace=False)
        users += [u] * len(chosen)
        items += chosen.tolist()
    order = rng.permutation(len(users))  # input order must not matter
    times = rng.integers(0, 5, size=len(users))  # many ties
    return np.array(users)[order], np.array(items)[order], times[order]


def _as_set(s):
    return set(zip(s.users.tolist(), s.items.tolist(), s.times.tolist()))


def test_users_with_at_least_matches_counts():
    users = np.array([3, 1, 3, 2, 3, 1])
    expected = np.array([c >= 2 for c in [3, 2, 3, 1, 3, 2]])
    np.testing.assert_array_equal(splitting.users_with_at_least(users, 2), expected)
    assert splitting.users_with_at_least(np.zeros(0, np.int64), 5).shape == (0,)


def test_leave_one_out_matches_numpy_reference():
    users, items, times = _records()
    got = splitting.leave_one_out(users, items, times, seed=11)
    # Reference: records sorted by (user, item) get one uniform key each from the seeded
    # generator; per user the smallest key is test, the second smallest validation.
    order = np.lexsort((items, users))
    u, i, t = users[order], items[order], times[order]
    keys = np.random.default_rng(11).random(len(u))
    expected = {"train": set(), "valid": set(), "test": set()}
    for user in np.unique(u):
        idx = np.flatnonzero(u == user)
        ranked = idx[np.argsort(keys[idx])]
        expected["test"].add((user, i[ranked[0]], t[ranked[0]]))
        expected["valid"].add((user, i[ranked[1]], t[ranked[1]]))
        expected["train"].update((user, i[k], t[k]) for k in ranked[2:])
    for name in ("train", "valid", "test"):
        assert _as_set(got[name]) == {tuple(map(int, r)) for r in expected[name]}
    np.testing.assert_array_equal(np.bincount(got["test"].users), np.ones(6))
    np.testing.assert_array_equal(np.bincount(got["valid"].users), np.ones(6))


def test_leave_one_out_same_seed_same_split_and_sorted():
    users, items, times = _records()
    a = splitting.leave_one_out(users, items, times, seed=5)
    shuffled = np.random.default_rng(0).permutation(len(users))
    b = splitting.leave_one_out(users[shuffled], items[shuffled], times[shuffled], seed=5)
    c = splitting.leave_one_out(users, items, times, seed=6)
    for name in ("train", "valid", "test"):
        np.testing.assert_array_equal(a[name].users, b[name].users)
        np.testing.assert_array_equal(a[name].items, b[name].items)
        keys = a[name].users * 100 + a[name].items
        assert np.all(np.diff(keys) > 0)
    assert _as_set(a["test"]) != _as_set(c["test"])


def test_temporal_last_is_test_ties_broken_by_item():
    users = np.array([0, 0, 0, 0, 1, 1, 1])
    items = np.array([4, 2, 9, 7, 1, 3, 2])
    times = np.array([10, 30, 30, 5, 8, 8, 8])
    got = splitting.temporal(users, items, times)
    # user 0: items 2 and 9 both at t=30 → the larger id (9) is later: test 9, valid 2.
    # user 1: all at t=8 → test 3, valid 2, train 1.
    assert _as_set(got["test"]) == {(0, 9, 30), (1, 3, 8)}
    assert _as_set(got["valid"]) == {(0, 2, 30), (1, 2, 8)}
    assert _as_set(got["train"]) == {(0, 4, 10), (0, 7, 5), (1, 1, 8)}


def test_holdout_split_sizes_and_seed():
    labels = splitting.holdout_split(101, (0.8, 0.1, 0.1), seed=2)
    assert labels.dtype == np.int8
    np.testing.assert_array_equal(np.bincount(labels, minlength=3), [81, 10, 10])
    # Reference: the first 10 of the seeded permutation are validation, the next 10 test.
    perm = np.random.default_rng(2).permutation(101)
    np.testing.assert_array_equal(np.flatnonzero(labels == 1), np.sort(perm[:10]))
    np.testing.assert_array_equal(np.flatnonzero(labels == 2), np.sort(perm[10:20]))
    np.testing.assert_array_equal(labels, splitting.holdout_split(101, (0.8, 0.1, 0.1), seed=2))
    with pytest.raises(ValueError, match="summing to 1"):
        splitting.holdout_split(10, (0.8, 0.3, 0.1), seed=0)


def test_empty_splits():
    splits = splitting.empty_splits()
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [0, 0, 0]
