"""Ranking and generative losses, each a function of scores (checked against numpy in tests)."""
import tensorflow as tf


def bpr_loss(pos_scores, neg_scores):
    """BPR-Opt (Rendle et al. 2009, eq. 4), averaged: mean −ln σ(x̂_ui − x̂_uj)."""
    return tf.reduce_mean(tf.nn.softplus(-(pos_scores - neg_scores)))


def hinge_loss(pos_scores, neg_scores, margin=1.0):
    """Max-margin pairwise loss (MM-MF): mean max(0, margin − x̂_ui + x̂_uj)."""
    return tf.reduce_mean(tf.nn.relu(margin - pos_scores + neg_scores))
