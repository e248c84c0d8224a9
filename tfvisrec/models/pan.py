"""Personalised outfit recommendation: PAN (Zhan & Lin) and FHN (Lu et al. 2019), with the
ablation rows of PAN's Table 2.

| name | Table 2 row | user-specific loss | hard negatives | attention |
|---|---|---|---|---|
| `fhn` | None (FHN) | – | – | – |
| `pan_ul` | UL | ✓ | – | – |
| `pan_ul_hn` | UL + HN | ✓ | ✓ | – |
| `pan` | UL + HN + AN (PAN) | ✓ | ✓ | ✓ |

Each row's hyper-parameters (its config dataclass): `pan_config.py`.

The predictor, for user u and outfit O = (o_1 … o_S) (top, bottom, shoes; empty slots skipped):

- user encoder (eq. 1): u = embedding of the user, code b_u = sign(u);
- item encoder: the item's CNN feature maps F (fixed, precomputed `feature_maps.npz`: the
  project's pretrained backbone, as PAN's Table 2, synthetic maps in tests; or, with
  `--backbone_training=end_to_end`, the backbone run on the item's photo and trained with the
  model: `pan_backbone.py`), with PAN the
  user-aware channel attention (eq. 2) then spatial attention (eq. 3, CBAM's convolution +
  batch normalisation; `pan_layers.py`) conditioned on b_u (one attention network for all slots),
  global average pooling and a linear map of the slot (FHN's per-type hash layer) → x_s,
  code b_s = sign(x_s);
- preference (eq. 4): y = g + α p, with g = mean over slot pairs s < t of b_sᵀ diag(w_st) b_t
  (general compatibility) and p = mean over slots of b_uᵀ b_s (the user's affinity).

While training the codes are tanh(β x) with the slope β growing each epoch (`slope_start ·
slope_growth^epoch`, capped at `slope_max`); evaluation scores both these real-valued codes
and the binary ones (`outfit_scores(..., binary=True)`).

How outfits fit the shared loop: the model's `train_pipeline` is `outfit_pairs`
(`data/outfit_pipeline.py`): batches {"user" [B], "pos": {"item": [B, S]}, "neg": {"item":
[B, S]}} from the dataset folder's `outfits.npz` (an outfit is a row of item ids, one per
slot), so `score(users, {"item": [B, S]})` scores aligned (user, outfit) pairs and the
base class's `train_step` runs `compute_loss` on these batches: BPR over (u, O_j, O_k)
(eq. 5), + λ1 · the user-specific loss over (u_m, u_n, O_k) (eq. 6-7), + λ2 · the visual-
semantic loss between x_s and the item's text (eq. 8-9; items without text skip it; the
text is the dataset's `texts.json` as hashed bags of words), and for PAN + `attention_user_l2` ·
(‖W_cu‖² + ‖W_su‖²), the attention's user projections (not in the paper; see
`attention_user_penalty`). Online hard negatives
(`pan_negatives.py`) join the random ones inside `compute_loss`: `hard_negative_ratio` · B
rows get one beside their random one (PAN: hard : random = 0.5; BPR averages over both kinds
of pair), drawn from a band of ranks in user-code distance (`hard_skip_ratio` to
`hard_k_ratio` of the batch; PAN: from the nearest). No negative, random, hard or (u_n, O_j),
is an outfit its user chose herself in training though another user chose it too (`pan_owners.py`). Validation
(`validation_score`) is the personal AUC on the validation outfits: each positive outfit
against the other users' validation outfits (FHN's "hard" negatives); with α = 0, where that
AUC is chance by construction, the random AUC. The loss equation
numbers follow the project's summary of the paper (issue 13: "losses eq. 5–9"); how they
split among the three terms was not checked against the paper's text.

Serving: `scores_outfits` keeps the catalogue signatures away; the exports answer
`outfit_score` and `recommend_outfit_item` (`serving/outfit_signatures.py`), and, holding the
backbone the maps record (`feature_maps_source`), or the model's own trained one
(`photo_feature_maps`), `outfit_score_images`: photos → maps → `outfit_scores_from_maps`, the
same item encoder and predictor.
"""
import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec import losses, metrics
from tfvisrec.data import outfit_questions, schema
from tfvisrec.data.item_texts import hashed_bag_of_words
from tfvisrec.data.outfit_owners import outfit_owners
from tfvisrec.data.outfits import EMPTY, load_outfits
from tfvisrec.models.base import Recommender
from tfvisrec.models.pan_backbone import backbone_optimizers, backbone_train_step, make_item_maps
from tfvisrec.models.pan_config import FHNConfig, PANConfig, PANULConfig, PANULHNConfig
from tfvisrec.models.pan_layers import UserChannelAttention, UserSpatialAttention, relaxed_code, repeat_rows
from tfvisrec.models.pan_negatives import mine_hard_negatives
from tfvisrec.models.pan_owners import OwnOutfits
from tfvisrec.models.registry import register


@register("fhn")
class FHN(Recommender):
    """FHN (Lu et al. 2019) = PAN Table 2's "None" row; the subclasses add PAN's parts."""

    config_class = FHNConfig
    factorised = False
    train_pipeline = "outfit_pairs"
    scores_outfits = True
    splits_outfit_scores = True       # y = g + α p (eq. 4): `outfit_score_parts`
    extra_signatures = ("outfit_score", "recommend_outfit_item")
    item_feature_keys = (schema.ITEM,)
    uses_user_loss = False
    uses_hard_negatives = False
    uses_attention = False

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        dim = int(config.code_dim)
        if dim < 1:
            raise ValueError(f"code_dim must be at least 1, got {dim}")
        self.user_embedding = self.add_weight(
            name="user_embedding", shape=[data_info.num_users, dim],
            initializer=keras.initializers.RandomNormal(stddev=0.1, seed=config.seed))
        self.slope = tf.Variable(float(config.slope_start), trainable=False, name="slope")
        self.item_maps = make_item_maps(config)     # fixed feature maps, or the backbone trained end to end
        self.num_slots = 0

    # ---- data --------------------------------------------------------------------------
    def prepare(self, dataset) -> None:
        """Reads the outfits' slots, the fixed item feature maps and the item texts (not images)."""
        table = load_outfits(dataset)
        self.num_slots = table.num_slots
        self.item_maps.prepare(dataset)
        from tfvisrec.data.dataset import load_texts
        vectors, has_text = hashed_bag_of_words(load_texts(dataset.path), dataset.num_items,
                                                int(self.config.text_buckets))
        self.has_any_text = bool(has_text.any()) and self.config.vse_weight > 0
        self.texts = tf.constant(vectors)
        self.has_text = tf.constant(has_text)
        self._build_layers(self.map_shape)
        self.outfit_table = table
        self.item_slot = tf.constant(np.asarray(table.item_slot, np.int32))
        # training knows the training split's choices only, no held-out one
        self.own_outfits = OwnOutfits(outfit_owners(table, self.data_info.num_users, splits=("train",)))

    def _build_layers(self, map_shape):
        dim, channels = int(self.config.code_dim), int(map_shape[-1])
        # one linear map per slot (FHN's type-specific hash layers), applied as one einsum
        self.item_kernels = self.add_weight(name="item_kernels", shape=[self.num_slots, channels, dim],
                                            initializer=keras.initializers.GlorotUniform(seed=self.config.seed))
        self.item_biases = self.add_weight(name="item_biases", shape=[self.num_slots, dim], initializer="zeros")
        pairs = self.num_slots * (self.num_slots - 1) // 2
        self.pair_weights = self.add_weight(name="pair_weights", shape=[pairs, dim],
                                            initializer="ones")
        if self.has_any_text:
            self.text_head = keras.layers.Dense(dim, use_bias=False, name="text_embedding", kernel_initializer=
                                                keras.initializers.GlorotUniform(seed=self.config.seed + 1))
        if self.uses_attention:
            # one attention network for every slot's maps; the user's code tells it what to look for
            self.channel_attention = UserChannelAttention(self.config.attention_reduction, seed=self.config.seed + 2,
                                                          name="channel_attention")
            self.spatial_attention = UserSpatialAttention(self.config.spatial_kernel, name="spatial_attention")

    def build_variables(self) -> None:
        """The encoder and predictor on zero maps (no photo decoded, no catalogue maps made)."""
        self.encode_maps(tf.zeros([2], tf.int64), tf.zeros([2, self.num_slots, *self.map_shape]),
                         tf.ones([2, self.num_slots], tf.bool))
        if self.has_any_text:
            self.text_head(self.texts[:1])

    @property
    def runs_cnn_every_step(self) -> bool:
        return self.item_maps.end_to_end   # the backbone on the photos of every outfit

    def create_optimizers(self, make_optimizer):
        if not self.item_maps.end_to_end:
            return super().create_optimizers(make_optimizer)
        return backbone_optimizers(self, self.item_maps.trainable_variables, make_optimizer,
                                   self.config.backbone_lr_scale)

    def train_step(self, batch, optimizers):
        if not self.item_maps.end_to_end:
            return super().train_step(batch, optimizers)
        return backbone_train_step(self, self.item_maps.trainable_variables, batch, optimizers)

    def begin_epoch(self, epoch: int, min_stage: int = 0) -> bool:
        cfg = self.config
        self.slope.assign(min(cfg.slope_max, cfg.slope_start * cfg.slope_growth ** epoch))
        return False

    # ---- the predictor -----------------------------------------------------------------
    @property
    def map_shape(self):
        """(h, w, C) of one item's feature maps."""
        return self.item_maps.map_shape

    @property
    def feature_maps_source(self):
        return self.item_maps.source

    def photo_feature_maps(self):
        return self.item_maps.photo_feature_maps()

    def encode(self, users, outfits, binary: bool = False, training: bool = False):
        """→ (user codes [B, D], item codes [B, S, D], item vectors x [B, S, D], filled [B, S])."""
        outfits = tf.cast(outfits, tf.int64)
        maps = self.item_maps.lookup(outfits, training)      # [B, S, H, W, C]
        return self.encode_maps(users, maps, tf.not_equal(outfits, EMPTY), binary, training)

    def encode_maps(self, users, maps, filled, binary: bool = False, training: bool = False):
        """`encode` for the items' feature maps [B, S, H, W, C] themselves (a served outfit of
        photos), `filled` [B, S] False for empty slots (their maps are ignored)."""
        user_code = relaxed_code(tf.gather(self.user_embedding, users), self.slope, binary)
        maps = tf.reshape(maps, [-1, *self.map_shape])                           # [B·S, H, W, C]
        if self.uses_attention:
            per_item_user = repeat_rows(user_code, self.num_slots)                # [B·S, D]
            maps, _ = self.channel_attention(maps, per_item_user)
            maps, _ = self.spatial_attention(maps, per_item_user, training=training)
        pooled = tf.reshape(tf.reduce_mean(maps, axis=[1, 2]), [-1, self.num_slots, maps.shape[-1]])
        vectors = tf.einsum("bsc,scd->bsd", pooled, self.item_kernels) + self.item_biases
        return user_code, relaxed_code(vectors, self.slope, binary), vectors, filled

    def predict_from_codes(self, user_code, item_codes, filled):
        """Eq. 4: y = g + α p (see the module docstring) → [B]."""
        g, p = self.predict_parts(user_code, item_codes, filled)
        return g + self.config.alpha * p

    def predict_parts(self, user_code, item_codes, filled):
        """Eq. 4's two scores → (g [B], the general compatibility; p [B], the user's affinity)."""
        filled = tf.cast(filled, item_codes.dtype)
        g_terms, g_weights, k = [], [], 0
        for s in range(self.num_slots):
            for t in range(s + 1, self.num_slots):
                g_terms.append(tf.reduce_sum(item_codes[:, s] * self.pair_weights[k] * item_codes[:, t], -1))
                g_weights.append(filled[:, s] * filled[:, t])
                k += 1
        g_terms, g_weights = tf.stack(g_terms, 1), tf.stack(g_weights, 1)
        g = tf.reduce_sum(g_terms * g_weights, 1) / tf.maximum(tf.reduce_sum(g_weights, 1), 1.0)
        p_terms = tf.reduce_sum(user_code[:, None, :] * item_codes, -1)
        p = tf.reduce_sum(p_terms * filled, 1) / tf.maximum(tf.reduce_sum(filled, 1), 1.0)
        return g, p

    def outfit_scores(self, users, outfits, binary: bool = False, training: bool = False):
        """y(u, O) for users [B] and outfits [B, S]; `binary`: with the codes sign(x) (eq. 4)."""
        return self.predict_from_codes(*_codes(self.encode(users, outfits, binary, training)))

    def outfit_score_parts(self, users, outfits, binary: bool = False):
        """(g, α p) for users [B] and outfits [B, S]: the two terms of y(u, O) = g + α p (eq. 4),
        to see which of them answers a question (e.g. fill in the blank)."""
        g, p = self.predict_parts(*_codes(self.encode(users, outfits, binary)))
        return g, self.config.alpha * p

    def outfit_scores_from_maps(self, users, maps, filled, binary: bool = False):
        """y(u, O) for users [B] and outfits given by their items' feature maps [B, S, H, W, C],
        `filled` [B, S] (eq. 4, through the same encoder as `outfit_scores`)."""
        return self.predict_from_codes(*_codes(self.encode_maps(users, maps, filled, binary)))

    def score(self, users, items, training: bool = False):
        """y(u, O) for aligned users [B] and outfits items["item"] [B, S] (real-valued codes)."""
        return self.outfit_scores(users, items[schema.ITEM], training=training)

    # ---- training ----------------------------------------------------------------------
    def compute_loss(self, batch, training: bool = True):
        users, pos, neg = batch["user"], batch["pos"][schema.ITEM], batch["neg"][schema.ITEM]
        batch_size = tf.shape(users)[0]
        # no negative of a user is an outfit she chose herself in training (`pan_owners.py`)
        pos_ids = self.own_outfits.outfit_ids(pos)
        hard_rows, hard = tf.zeros([0], tf.int32), neg[:0]
        if self.uses_hard_negatives:
            seed = tf.stack([tf.cast(self.config.seed, tf.int64), tf.reduce_sum(users) + tf.reduce_sum(pos)])
            user_code = relaxed_code(tf.gather(self.user_embedding, users), 1.0, binary=True)
            hers = self.own_outfits.owned(users[:, None], pos_ids[None, :])     # [B, B]: row j's outfit is row i's
            hard_rows, hard = mine_hard_negatives(users, user_code, pos, self.config.hard_negative_ratio,
                                                  self.config.hard_k_ratio, seed, self.config.hard_skip_ratio,
                                                  excluded=hers)
        # one pass over (u, O_j), (u, O_k), the hard (u, O_h) and, for the user-specific loss,
        # (u_n, O_j); the items' maps looked up once (with an end-to-end backbone: one CNN pass)
        others = tf.roll(users, shift=1, axis=0)
        outfits = tf.concat([pos, neg, hard], axis=0)
        maps = self.item_maps.lookup(outfits, training)
        scored_users = [users, users, tf.gather(users, hard_rows)]
        if self.uses_user_loss:
            scored_users.append(others)
            outfits, maps = tf.concat([outfits, pos], 0), tf.concat([maps, maps[:batch_size]], 0)
        codes, item_codes, vectors, filled = self.encode_maps(
            tf.concat(scored_users, axis=0), maps, tf.not_equal(outfits, EMPTY), training=training)
        y_pos, y_neg, y_hard, y_others = tf.split(self.predict_from_codes(codes, item_codes, filled),
                                                  [batch_size, batch_size, tf.shape(hard_rows)[0], -1])
        random_not_hers = tf.logical_not(self.own_outfits.owns(users, neg))
        loss = losses.bpr_loss(tf.concat([y_pos, tf.gather(y_pos, hard_rows)], 0), tf.concat([y_neg, y_hard], 0),
                               mask=tf.concat([random_not_hers, tf.ones_like(hard_rows, tf.bool)], 0))
        if self.uses_user_loss:
            not_theirs = tf.not_equal(users, others) & tf.logical_not(self.own_outfits.owned(others, pos_ids))
            loss += self.config.user_loss_weight * losses.user_specific_loss(y_pos, y_others, mask=not_theirs)
        pos_vectors = vectors[:batch_size]
        if self.has_any_text:
            items = tf.reshape(pos, [-1])
            keep = tf.not_equal(items, EMPTY) & tf.gather(self.has_text, tf.maximum(items, 0))
            text = self.text_head(tf.gather(self.texts, tf.maximum(items, 0)))
            visual = tf.reshape(pos_vectors, [-1, pos_vectors.shape[-1]])
            loss += self.config.vse_weight * losses.vse_loss(visual, text, keep, self.config.vse_margin)
        user = tf.gather(self.user_embedding, users)
        loss += self.config.l2_user * tf.reduce_mean(tf.reduce_sum(tf.square(user), -1))
        if self.uses_attention and self.config.attention_user_l2 > 0:
            loss += self.config.attention_user_l2 * self.attention_user_penalty()
        return loss + self.item_maps.weight_penalty()

    def attention_user_penalty(self):
        """Σ W_cu² + Σ W_su²: the weights through which the user's code moves the attention (eq. 2-3).

        Unchecked they outgrow what the garment shows: with ±1 codes of D bits the user's
        term of every gate sums D products, and fitting a few outfits per shopper makes
        them large (measured on the synthetic outfit world: ‖W_su‖ 0 → 7, ‖W_cu‖ 5 → 8 in
        30 epochs, the user's position term spread 1.8 against the content's 1.4 within an
        item), so each shopper gets her own pattern of cells and channels and the gate no
        longer follows the item's content (the region the taste depends on got the largest
        weight on 18-27 % of the items; 47-60 % without the user terms, 39-44 % with this
        penalty at 0.1)."""
        return (tf.reduce_sum(tf.square(self.channel_attention.w_cu.kernel))
                + tf.reduce_sum(tf.square(self.spatial_attention.w_su.kernel)))

    @property
    def validation_metric(self):
        return "auc" if self.config.alpha else "random_auc"

    def validation_score(self, dataset):
        """Personal AUC on the validation outfits (each user's against the other users'). With
        α = 0 (compatibility alone, PAN Table 2's non-personal baseline) the score cannot tell
        one shopper's outfits from another's, so that AUC is chance whatever the epoch: the
        random AUC (each outfit against randomly mixed ones) is validated instead."""
        if "valid" not in self.outfit_table.positives or not len(self.outfit_table.positives["valid"]):
            return None
        questions = outfit_questions.personal_pairs if self.config.alpha else outfit_questions.random_pairs
        users, outfits, labels = questions(self.outfit_table, "valid", seed=self.config.seed)
        return metrics.grouped_auc_ndcg(_scores(self, users, outfits), labels, users)["auc"]


def _codes(encoded):
    """(user codes, item codes, filled) of an `encode` result: what `predict_from_codes` reads."""
    user_code, item_codes, _, filled = encoded
    return user_code, item_codes, filled


def _scores(model, users, outfits, batch: int = 4096) -> np.ndarray:
    """y(u, O) of each row, each distinct pair scored once, as `evaluation.outfits` does."""
    users, outfits, back = outfit_questions.distinct_pairs(users, outfits)
    out = [model.outfit_scores(tf.constant(users[k:k + batch]), tf.constant(outfits[k:k + batch])).numpy()
           for k in range(0, len(users), batch)]
    return np.concatenate(out)[back] if out else np.zeros(0, np.float32)


@register("pan_ul")
class PANUserLoss(FHN):
    """Table 2 row UL: FHN + the user-specific loss (eq. 7)."""

    config_class = PANULConfig
    uses_user_loss = True


@register("pan_ul_hn")
class PANUserLossHardNegatives(PANUserLoss):
    """Table 2 row UL + HN: + online user-aware hard negatives."""

    config_class = PANULHNConfig
    uses_hard_negatives = True

    def __init__(self, data_info, config, **kwargs):
        if not 0.0 <= config.hard_negative_ratio <= 1.0:
            raise ValueError(f"--hard_negative_ratio must be within [0, 1], got {config.hard_negative_ratio}")
        if not 0.0 < config.hard_k_ratio <= 1.0:
            raise ValueError(f"--hard_k_ratio must be within (0, 1] (a share of the batch's users), "
                             f"got {config.hard_k_ratio}")
        if not 0.0 <= config.hard_skip_ratio < config.hard_k_ratio:
            raise ValueError(f"--hard_skip_ratio must be within [0, --hard_k_ratio = {config.hard_k_ratio}) (the very "
                             f"nearest users left out of the draw), got {config.hard_skip_ratio}")
        super().__init__(data_info, config, **kwargs)


@register("pan")
class PAN(PANUserLossHardNegatives):
    """PAN (Table 2 row UL + HN + AN): + user-aware channel (eq. 2) and spatial (eq. 3) attention."""

    config_class = PANConfig
    uses_attention = True
