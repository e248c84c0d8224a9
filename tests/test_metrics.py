"""Metrics against slow, loop-by-loop numpy references on random scores with ties."""
import math

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec import metrics


# ---------------------------------------------------------------- slow references

def auc_reference(scores, pos, excluded):
    out = []
    for u in range(scores.shape[0]):
        wins, count = 0.0, 0
        for j in range(scores.shape[1]):
            if j == pos[u] or j in excluded[u]:
                continue
            count += 1
            if scores[u, pos[u]] > scores[u, j]:
                wins += 1.0
            elif scores[u, pos[u]] == scores[u, j]:
                wins += 0.5
        out.append(wins / count if count else math.nan)
    return np.array(out)


def ranking_reference(pos, neg, cutoff):
    """HR and NDCG averaged over every place the positive can take among its ties."""
    hr, ndcg = [], []
    for u in range(len(pos)):
        above = sum(1 for s in neg[u] if s > pos[u])
        tied = sum(1 for s in neg[u] if s == pos[u])
        h = g = 0.0
        for k in range(tied + 1):
            rank = above + 1 + k
            if rank <= cutoff:
                h += 1.0
                g += 1.0 / math.log2(1 + rank)
        hr.append(h / (tied + 1))
        ndcg.append(g / (tied + 1))
    return np.array(hr), np.array(ndcg)


def fitb_reference(scores, answer):
    total = 0.0
    for q in range(scores.shape[0]):
        best = max(scores[q])
        if scores[q, answer[q]] == best:
            total += 1.0 / sum(1 for s in scores[q] if s == best)
    return total / scores.shape[0]


def inception_reference(probs, splits):
    values = []
    for part in np.array_split(probs, splits):
        marginal = [sum(row[c] for row in part) / len(part) for c in range(probs.shape[1])]
        kl = 0.0
        for row in part:
            kl += sum(p * (math.log(p) - math.log(marginal[c])) for c, p in enumerate(row) if p > 0)
        values.append(math.exp(kl / len(part)))
    return np.mean(values), np.std(values)


def ssim_reference(x, y, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """SSIM of two uint8 images (Wang et al. 2004): Gaussian window, valid positions, per channel."""
    x, y = x.astype(np.float64) / 255.0, y.astype(np.float64) / 255.0
    coords = np.arange(size) - (size - 1) / 2.0
    window = np.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2 * sigma ** 2))
    window /= window.sum()
    c1, c2 = k1 ** 2, k2 ** 2
    per_channel = []
    for c in range(x.shape[2]):
        values = []
        for r in range(x.shape[0] - size + 1):
            for q in range(x.shape[1] - size + 1):
                a, b = x[r:r + size, q:q + size, c], y[r:r + size, q:q + size, c]
                mu_a, mu_b = (window * a).sum(), (window * b).sum()
                squares = (window * (a * a + b * b)).sum()
                cross = (window * a * b).sum()
                luminance = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
                contrast = (2 * cross - 2 * mu_a * mu_b + c2) / (squares - mu_a ** 2 - mu_b ** 2 + c2)
                values.append(luminance * contrast)
        per_channel.append(np.mean(values))
    return np.mean(per_channel)


# ---------------------------------------------------------------- AUC

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_reference_with_ties_and_exclusions(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(7, 12)).astype(np.float32)   # many ties
    pos = rng.integers(0, 12, size=7)
    excluded = [sorted(set(rng.choice(12, size=rng.integers(0, 5), replace=False)) | {int(p)})
                for p in pos]
    expected = auc_reference(scores, pos, excluded)
    np.testing.assert_allclose(metrics.auc_per_user(scores, pos, excluded), expected)
    mask = metrics.exclusion_mask(excluded, scores.shape)
    np.testing.assert_allclose(metrics.auc_per_user(scores, pos, mask), expected)


def test_auc_perfect_reversed_constant():
    pos = np.array([2, 0, 4])
    perfect = np.zeros((3, 5)); perfect[np.arange(3), pos] = 1.0
    np.testing.assert_allclose(metrics.auc_per_user(perfect, pos), [1, 1, 1])
    np.testing.assert_allclose(metrics.auc_per_user(-perfect, pos), [0, 0, 0])
    np.testing.assert_allclose(metrics.auc_per_user(np.ones((3, 5)), pos), [0.5, 0.5, 0.5])


def test_excluded_items_are_never_negatives():
    scores = np.array([[0.5, 9.0, 0.1, 8.0]])   # items 1 and 3 beat the positive but are excluded
    np.testing.assert_allclose(metrics.auc_per_user(scores, [0], [[1, 3]]), [1.0])
    np.testing.assert_allclose(metrics.auc_per_user(scores, [0]), [1 / 3])


def test_auc_nan_rows_and_no_negatives():
    scores = np.array([[np.nan, 1.0, 2.0], [1.0, 0.0, np.nan], [3.0, 1.0, 2.0], [1.0, 2.0, 3.0]])
    auc = metrics.auc_per_user(scores, [0, 0, 0, 0], [[], [], [], [1, 2]])
    assert np.isnan(auc[0]) and np.isnan(auc[1]) and np.isnan(auc[3])
    assert auc[2] == 1.0


def test_auc_rejects_bad_shapes():
    with pytest.raises(ValueError):
        metrics.auc_per_user(np.zeros((2, 3)), [0, 1, 2])
    with pytest.raises(ValueError):
        metrics.auc_per_user(np.zeros((2, 3)), [0, 3])
    with pytest.raises(ValueError):
        metrics.auc_per_user(np.zeros((2, 3)), [0, 1], [[0]])


# ---------------------------------------------------------------- sampled ranking

@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_metrics_match_reference_with_ties(seed):
    rng = np.random.default_rng(seed)
    pos = rng.integers(0, 6, size=40).astype(np.float64)
    neg = rng.integers(0, 6, size=(40, 30)).astype(np.float64)
    got = metrics.sampled_ranking_metrics(pos, neg, cutoffs=(1, 5, 10, 31))
    np.testing.assert_allclose(got["auc"], auc_reference(
        np.concatenate([pos[:, None], neg], axis=1), np.zeros(40, int), [[]] * 40))
    for n in (1, 5, 10, 31):
        hr, ndcg = ranking_reference(pos, neg, n)
        np.testing.assert_allclose(got[f"hr@{n}"], hr)
        np.testing.assert_allclose(got[f"ndcg@{n}"], ndcg)


def test_sampled_metrics_without_ties_use_the_plain_rank():
    rng = np.random.default_rng(3)
    pos, neg = rng.normal(size=20), rng.normal(size=(20, 9))
    rank = 1 + np.sum(neg > pos[:, None], axis=1)
    got = metrics.sampled_ranking_metrics(pos, neg, cutoffs=(3,))
    np.testing.assert_allclose(got["hr@3"], (rank <= 3).astype(float))
    np.testing.assert_allclose(got["ndcg@3"], np.where(rank <= 3, 1 / np.log2(1 + rank), 0.0))


def test_constant_scorer_is_a_random_ranker():
    got = metrics.sampled_ranking_metrics(np.zeros(4), np.zeros((4, 99)), cutoffs=(10,))
    np.testing.assert_allclose(got["auc"], 0.5)
    np.testing.assert_allclose(got["hr@10"], 10 / 100)
    np.testing.assert_allclose(got["ndcg@10"], np.sum(1 / np.log2(np.arange(2, 12))) / 100)


def test_sampled_nan_rows():
    got = metrics.sampled_ranking_metrics(np.array([np.nan, 1.0]), np.array([[0.0], [0.0]]))
    for name, values in got.items():
        assert np.isnan(values[0]), name
        assert values[1] == 1.0, name        # the positive beats its only negative


def test_mean_std():
    values = np.array([0.2, 0.4, 0.9])
    assert metrics.mean_std(values) == pytest.approx((values.mean(), values.std(ddof=1)))
    assert metrics.mean_std([0.3]) == (0.3, 0.0)


# ---------------------------------------------------------------- FITB, inception score, SSIM

def test_fitb_matches_reference_with_ties():
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 3, size=(50, 4)).astype(float)
    answer = rng.integers(0, 4, size=50)
    assert metrics.fitb_accuracy(scores, answer) == pytest.approx(fitb_reference(scores, answer))
    assert metrics.fitb_accuracy(np.zeros((5, 4)), np.zeros(5, int)) == pytest.approx(0.25)


def grouped_reference(scores, labels, groups, n):
    """Per group: AUC over (positive, negative) pairs, ties 0.5; NDCG@n averaged over every
    order of the tied scores (all permutations); then the mean over groups."""
    import itertools
    aucs, ndcgs = [], []
    for g in np.unique(groups):
        s, y = scores[groups == g], labels[groups == g]
        if y.all() or not y.any():
            continue
        aucs.append(np.mean([1.0 if p > q else 0.5 if p == q else 0.0
                             for p in s[y] for q in s[~y]]))
        gains = [sum(y[k] / math.log2(r + 2) for r, k in enumerate(order[:n]))
                 for order in itertools.permutations(range(len(s)))
                 if all(s[a] >= s[b] for a, b in zip(order, order[1:]))]
        ideal = sum(1 / math.log2(r + 2) for r in range(min(int(y.sum()), n)))
        ndcgs.append(np.mean(gains) / ideal)
    return np.mean(aucs), np.mean(ndcgs), len(aucs)


def test_grouped_auc_ndcg_matches_reference_and_nan_is_not_a_loss():
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(4), 6)
    labels = np.tile([True, True, False, False, False, False], 4)
    scores = rng.integers(0, 3, size=24).astype(float)
    out = metrics.grouped_auc_ndcg(scores, labels, groups, n=3)
    auc, ndcg, count = grouped_reference(scores, labels, groups, 3)
    assert (out["auc"], out["ndcg@3"], out["groups"]) == (pytest.approx(auc), pytest.approx(ndcg), count)
    # A diverged model's NaN score is no wrongly ranked pair: the result is NaN, not a low AUC.
    for row in (0, 3):   # a positive, a negative
        broken = scores.copy()
        broken[row] = np.nan
        out = metrics.grouped_auc_ndcg(broken, labels, groups, n=3)
        assert math.isnan(out["auc"]) and math.isnan(out["ndcg@3"]) and out["groups"] == 4
    out = metrics.grouped_auc_ndcg(np.full(24, np.nan), labels, groups, n=3)
    assert math.isnan(out["auc"]) and math.isnan(out["ndcg@3"])


def test_inception_score_matches_reference():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(60, 7)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[0] = 0.0
    probs[0, 2] = 1.0                                   # a one-hot row: 0 · log 0 terms
    got = metrics.inception_score(probs, splits=6)
    np.testing.assert_allclose(got, inception_reference(probs, 6), rtol=1e-10)
    one_class = np.tile(np.eye(7)[[3]], (20, 1))
    assert metrics.inception_score(one_class, splits=2)[0] == pytest.approx(1.0)
    assert metrics.inception_score(np.eye(7), splits=1)[0] == pytest.approx(7.0)
    with pytest.raises(ValueError):
        metrics.inception_score(probs * 2)


def test_ssim_diversity_matches_reference():
    rng = np.random.default_rng(6)
    base = rng.integers(0, 256, size=(1, 14, 13, 3))
    noise = rng.integers(-40, 41, size=(4, 14, 13, 3))
    images = np.clip(base + noise, 0, 255).astype(np.uint8)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    expected = np.mean([1.0 - ssim_reference(images[i], images[j]) for i, j in pairs])
    assert metrics.ssim_diversity(images, pair_batch=4) == pytest.approx(expected, abs=1e-5)
    same = np.repeat(images[:1], 3, axis=0)
    assert metrics.ssim_diversity(same) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        metrics.ssim_diversity(images[:, :8, :8])


def test_colour_gap_against_numpy():
    rng = np.random.default_rng(0)
    real = [rng.uniform(-1, 1, (5, 4, 4, 3)), rng.uniform(0, 1, (3, 4, 4, 3))]
    fake = [rng.uniform(-1, 0, (2, 4, 4, 3)), rng.uniform(0, 1, (6, 4, 4, 3))]

    def stats(x):
        flat = x.reshape(-1, 3)
        return np.r_[flat.mean(0), flat.std(0)]

    expected = np.mean([np.sqrt(np.sum((stats(f) - stats(r)) ** 2)) for f, r in zip(fake, real)])
    np.testing.assert_allclose(metrics.colour_gap(fake, real), expected, rtol=1e-12)
    assert metrics.colour_gap(real, real) == 0.0
    with pytest.raises(ValueError, match="one generated and one real"):
        metrics.colour_gap(fake, real[:1])
