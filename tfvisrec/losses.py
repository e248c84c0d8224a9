"""Ranking and generative losses, each a function of scores (checked against numpy in tests).

Pairwise losses take positive scores x̂_ui [B] and negative scores x̂_uj [B] or [B, N]
(N sampled negatives per positive); a [B] positive is compared with each of its N negatives.
"""
import numpy as np
import tensorflow as tf

_EULER_GAMMA = float(np.euler_gamma)


def _align(pos_scores, neg_scores):
    """Positive scores [B] against negatives [B] or [B, N] (the positive repeated N times)."""
    pos_scores = tf.convert_to_tensor(pos_scores)
    neg_scores = tf.convert_to_tensor(neg_scores, dtype=pos_scores.dtype)
    if neg_scores.shape.rank == pos_scores.shape.rank + 1:
        pos_scores = pos_scores[..., None]
    return pos_scores, neg_scores


def bpr_loss(pos_scores, neg_scores, mask=None):
    """BPR-Opt (Rendle et al. 2009, eq. 4), averaged: mean −ln σ(x̂_ui − x̂_uj), over the pairs
    where `mask` (bool, the pairs' shape) is True when given (0 when none is)."""
    pos_scores, neg_scores = _align(pos_scores, neg_scores)
    terms = tf.nn.softplus(-(pos_scores - neg_scores))
    if mask is None:
        return tf.reduce_mean(terms)
    weight = tf.cast(mask, terms.dtype)
    return tf.reduce_sum(terms * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)


def hinge_loss(pos_scores, neg_scores, margin=1.0):
    """Max-margin pairwise loss (MM-MF): mean max(0, margin − x̂_ui + x̂_uj)."""
    pos_scores, neg_scores = _align(pos_scores, neg_scores)
    return tf.reduce_mean(tf.nn.relu(margin - pos_scores + neg_scores))


def harmonic_number(n):
    """L(k) = Σ_{j=1..k} 1/j (Weston et al. 2011, the α_j = 1/j choice of eq. 2) = ψ(k+1) + γ.

    Elementwise on integer ranks; L(0) = 0.
    """
    n = tf.cast(n, tf.float32)
    return tf.math.digamma(n + 1.0) + _EULER_GAMMA


def warp_rank_estimate(trials, num_items):
    """WSABIE's rank estimate: ⌊(Y − 1) / N⌋ after N trials found the first violator (sec. 3)."""
    return (int(num_items) - 1) // tf.cast(trials, tf.int64)


def warp_loss(pos_scores, neg_scores, num_items, margin=1.0):
    """WARP (Weston et al. 2011, WSABIE, eq. 2-3 with the sampled rank of sec. 3), averaged.

    For each positive x̂_ui the N negatives are tried in order; the first violator j*
    (x̂_uj > x̂_ui − margin) found after `trials` = index + 1 draws gives the rank estimate
    r = ⌊(num_items − 1) / trials⌋ and the loss L(r) · max(0, margin − x̂_ui + x̂_uj*) with
    L(r) = Σ_{k=1..r} 1/k. A positive with no violator among its N negatives costs 0.
    The weight L(r) is a constant of the step (it is not differentiated).

    Args:
      pos_scores: [B] scores of the positives.
      neg_scores: [B, N] scores of N negatives per positive ([B] is read as N = 1).
      num_items: catalogue size Y.
      margin: the hinge margin.
    """
    pos_scores = tf.convert_to_tensor(pos_scores)
    neg_scores = tf.convert_to_tensor(neg_scores, dtype=pos_scores.dtype)
    if neg_scores.shape.rank == pos_scores.shape.rank:
        neg_scores = neg_scores[..., None]
    hinge = tf.nn.relu(margin - pos_scores[:, None] + neg_scores)           # [B, N]
    violates = hinge > 0.0
    has_violator = tf.reduce_any(violates, axis=1)
    first = tf.argmax(tf.cast(violates, tf.int32), axis=1, output_type=tf.int32)
    weight = tf.cast(harmonic_number(warp_rank_estimate(first + 1, num_items)), hinge.dtype)
    first_hinge = tf.gather(hinge, first, axis=1, batch_dims=1)
    per_positive = tf.where(has_violator, tf.stop_gradient(weight) * first_hinge,
                            tf.zeros_like(first_hinge))
    return tf.reduce_mean(per_positive)


def lsgan_discriminator_loss(real_scores, fake_scores):
    """LSGAN (Mao et al. 2017) as DVBPR eq. 7 writes it, the discriminator's side:
    E_x[(D(x, c) − 1)²] + E_z[D(G(z, c), c)²] (targets 1 for real, 0 for generated)."""
    real_scores = tf.convert_to_tensor(real_scores)
    fake_scores = tf.convert_to_tensor(fake_scores, dtype=real_scores.dtype)
    return tf.reduce_mean(tf.square(real_scores - 1.0)) + tf.reduce_mean(tf.square(fake_scores))


def lsgan_generator_loss(fake_scores):
    """LSGAN, DVBPR eq. 7, the generator's side: E_z[(D(G(z, c), c) − 1)²]."""
    return tf.reduce_mean(tf.square(tf.convert_to_tensor(fake_scores) - 1.0))


def user_specific_loss(own_scores, other_scores, mask=None):
    """PAN's user-specific loss (eq. 6-7) over triples (u_m, u_n, O_k): outfit O_k, chosen by
    u_m, should score higher for u_m than for another user u_n: mean −ln σ(y_mk − y_nk) over
    the triples where `mask` (bool [B]) is True (0 when none is)."""
    own_scores = tf.convert_to_tensor(own_scores)
    terms = tf.nn.softplus(-(own_scores - tf.cast(other_scores, own_scores.dtype)))
    if mask is None:
        return tf.reduce_mean(terms)
    weight = tf.cast(mask, terms.dtype)
    return tf.reduce_sum(terms * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)


def vse_loss(visual, text, mask=None, margin=0.2):
    """Visual-semantic embedding loss (FHN / PAN eq. 8-9; Kiros et al. 2014's contrastive hinge).

    visual, text [N, D] embeddings of the same N items, compared by cosine similarity s;
    for each item i with text (`mask` bool [N], default all) against every other item k
    with text: max(0, m − s(v_i, t_i) + s(v_i, t_k)) + max(0, m − s(v_i, t_i) + s(v_k, t_i)),
    summed over k and averaged over i. Items without text take no part (0 when fewer than two
    items have text)."""
    visual = tf.math.l2_normalize(tf.convert_to_tensor(visual), axis=-1)
    text = tf.math.l2_normalize(tf.cast(text, visual.dtype), axis=-1)
    n = tf.shape(visual)[0]
    keep = tf.ones([n], bool) if mask is None else tf.cast(mask, bool)
    sims = tf.matmul(visual, text, transpose_b=True)                  # s(v_i, t_k)
    right = tf.linalg.diag_part(sims)
    pair = tf.cast(keep[:, None] & keep[None, :] & ~tf.eye(n, dtype=bool), sims.dtype)
    hinge = (tf.nn.relu(margin - right[:, None] + sims)
             + tf.nn.relu(margin - right[:, None] + tf.transpose(sims))) * pair
    rows = tf.reduce_sum(tf.cast(keep, sims.dtype))
    return tf.where(rows > 1.0, tf.reduce_sum(hinge) / tf.maximum(rows, 1.0), 0.0)
