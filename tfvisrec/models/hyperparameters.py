"""Hyper-parameters that several model families read, one definition each.

A family's config dataclass (beside its model) lists every field its model reads; a field
shared with other families takes its default and help text from here, so a flag means the
same in every model that has it. `LatentFactorsConfig` groups the four that every
factorisation family reads.
"""
import dataclasses

from tfvisrec.config import ModelConfig, field


def embedding_dim():
    return field(20, "Latent factors K of user/item embeddings (gamma).")


def init_stddev():
    return field(0.1, "Stddev of the normal initialiser of embeddings.")


def l2_user():
    return field(0.01, "L2 weight on the user factors involved in a batch (lambda_theta).")


def l2_item():
    return field(0.01, "L2 weight on the positive/negative item factors in a batch.")


def l2_bias():
    return field(0.001, "L2 weight on item biases.")


def use_item_bias():
    return field(True, "Learn an item bias beta_i.")


def visual_dim():
    return field(20, "Visual factors K' (theta_u, E f_i) for visual models.")


def user_lr_multiplier():
    return field(1.0, "User factors learn this many times faster than the CNN they meet (exact under Adam; each user's row is updated only by the batches holding that user).")


def l2_visual():
    return field(0.001, "L2 weight on the weights applied to visual features (VBPR's E and beta', FM's V and w, ImgRec's W_phi and FC layer).")


def features_file():
    return field("", "Precomputed item features (.npy [items, F]) for fixed-feature visual models; default <dataset>/features.npy.")


def feature_norm():
    return field("l2", "Fixed features f_i: l2 = scaled to unit length (Adam's steps on E f_i otherwise grow with the features' magnitude), none = as extracted.")


@dataclasses.dataclass
class LatentFactorsConfig(ModelConfig):
    """User and item factors of K dimensions, L2-regularised per batch (the factorisation
    families: MF, the VBPR family, FM, ImgRec)."""

    embedding_dim: int = embedding_dim()
    init_stddev: float = init_stddev()
    l2_user: float = l2_user()
    l2_item: float = l2_item()
