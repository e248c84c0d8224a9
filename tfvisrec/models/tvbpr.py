"""TVBPR (He & McAuley 2016b, "Ups and Downs"): VBPR whose visual space and biases move by time epoch.

    x̂(u, i, t) = β_i + β_{i,ep(t)} + γ_uᵀγ_i + θ_uᵀ θ_i(t) + β'(t)ᵀ f_i
    θ_i(t) = E f_i ⊙ w_ep(t) + ΔE_ep(t) f_i     (§4.2; w_ep(t) = 1 + w(t), stored as w(t))
    β'(t)  = β' + Δβ'_ep(t)                     (the temporal visual bias)
    β_{i,ep(t)}                                  (the temporal item bias, `--item_bias_drift`)

The epochs ep(t) are either fixed at quantiles of the training timestamps
(`--epoch_segmentation=quantile`, `temporal.epoch_boundaries`) or learned as in §4.3
(`--epoch_segmentation=learned`, `epoch_segmentation.py`): after every `segment_every`
training epochs the boundaries move to the cut of `time_bins` equal-width time bins into
`time_epochs` runs that maximises the BPR log-likelihood of the training interactions with
the parameters fixed (dynamic programming); training then goes on with the new epochs —
coordinate ascent. Either way the boundaries are a weight of the model (checkpoints and
exports carry them, so a restored model, `recommend` at a time t and `trends` use the epochs
it was trained with), and the run folder gets them as `time_epochs.json`.
"""
import dataclasses
import datetime

import numpy as np
import tensorflow as tf

from tfvisrec.config import field
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.models import epoch_segmentation as segmentation
from tfvisrec.models.mf import _mean_squared_norm
from tfvisrec.models.registry import register
from tfvisrec.models.temporal import TimeEpochs
from tfvisrec.models.vbpr import VBPR, VBPRConfig

EPOCHS_REPORT = "time_epochs.json"
# The segmentation gathers f_i for each (interaction, item) it scores; at 4,096 interactions
# × 9 items × 4,096 features that tensor alone was 0.6 GB, and the normalised copy beside it
# doubled it.
_SEGMENTATION_BATCH_BYTES = 64 << 20


def segmentation_batch_size(items_per_interaction: int, feature_dim: int) -> int:
    """Interactions the segmentation scores at a time: at most 4,096, fewer when their gathered
    f_i ([b, items_per_interaction, feature_dim] float32) would pass `_SEGMENTATION_BATCH_BYTES`."""
    per_interaction = 4 * max(1, items_per_interaction) * max(1, feature_dim)
    return int(max(1, min(4096, _SEGMENTATION_BATCH_BYTES // per_interaction)))


@dataclasses.dataclass
class TVBPRConfig(VBPRConfig):
    """TVBPR: VBPR with per-time-epoch deviations, on fixed or learned epochs."""

    time_epochs: int = field(4, "Number of time epochs for temporal models (TVBPR).")
    l2_drift: float = field(0.01, "L2 weight on the per-epoch deviations of TVBPR's w(t), ΔE(t), Δβ'(t) (and β_i,ep(t)).")
    epoch_segmentation: str = field("quantile", "TVBPR epochs: quantile = fixed at quantiles of the training times; learned = boundaries re-fitted by dynamic programming over time bins during training (He & McAuley 2016b §4.3).")
    time_bins: int = field(20, "Learned epochs: equal-width time bins of the training period; epoch boundaries fall on bin edges.")
    segment_every: int = field(2, "Learned epochs: re-fit the boundaries after every this many training epochs (the coordinate-ascent step).")
    min_epoch_bins: int = field(1, "Learned epochs: the fewest time bins an epoch may span.")
    segment_samples: int = field(200000, "Learned epochs: at most this many training interactions (each against num_negatives sampled items) score the segmentation.")
    item_bias_drift: bool = field(False, "TVBPR: also learn a per-epoch item bias beta_i,ep(t).")


def iso_day(seconds) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@register("tvbpr")
class TVBPR(VBPR):
    """TVBPR (He & McAuley 2016b, "Ups and Downs: Modeling the Visual Evolution of Fashion
    Trends with One-Class Collaborative Filtering", WWW), the module docstring's predictor,
    factorised as user [γ_u, θ_u, 1] · item [γ_i, θ_i(t), β_i + β_{i,ep(t)} + β'(t)ᵀf_i].
    The epoch terms start at zero (TVBPR begins as VBPR) and are shrunk by l2_drift. The
    interaction's time arrives as the item key `time` (unix seconds); the item vector, not
    the user vector, carries it, so evaluation embeds the catalogue once per time epoch.
    """

    item_feature_keys = (schema.ITEM, schema.FEATURES, schema.TIME)
    config_class = TVBPRConfig

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        if config.epoch_segmentation not in segmentation.SEGMENTATIONS:
            raise ValueError(f"epoch_segmentation must be one of {segmentation.SEGMENTATIONS}, "
                             f"got {config.epoch_segmentation!r}")
        self.epochs = TimeEpochs(config.time_epochs)
        num_epochs, visual_dim = self.epochs.num_epochs, int(config.visual_dim)
        if config.epoch_segmentation == "learned" and not (
                int(config.min_epoch_bins) >= 1 and num_epochs * int(config.min_epoch_bins) <= int(config.time_bins)):
            raise ValueError(f"learned epochs need time_epochs × min_epoch_bins <= time_bins (and "
                             f"min_epoch_bins >= 1), got {num_epochs} × {config.min_epoch_bins} and "
                             f"{config.time_bins} bins")
        self.dimension_drift = self.add_weight(                 # w(t) = w_ep(t) − 1
            name="dimension_drift", shape=[num_epochs, visual_dim], dtype=tf.float32,
            initializer="zeros")
        self.projection_drift = self.add_weight(      # ΔE(t)ᵀ for every epoch
            name="projection_drift", shape=[num_epochs, self.feature_dim, visual_dim],
            dtype=tf.float32, initializer="zeros")
        self.visual_bias_drift = self.add_weight(
            name="visual_bias_drift", shape=[num_epochs, self.feature_dim], dtype=tf.float32,
            initializer="zeros")
        self.item_bias_drift = None
        if config.item_bias_drift:
            self.item_bias_drift = self.add_weight(
                name="item_bias_drift", shape=[data_info.num_items, num_epochs], dtype=tf.float32,
                initializer="zeros")
        # Plain attributes, kept out of Keras' tracking (they are not weights): this
        # process's re-segmentations for time_epochs.json, and the catalogue's f_i.
        object.__setattr__(self, "segmentation_rounds", [])
        object.__setattr__(self, "_feature_matrix", None)

    @property
    def learns_epochs(self) -> bool:
        return self.config.epoch_segmentation == "learned" and self.epochs.num_epochs > 1

    def prepare(self, dataset):
        super().prepare(dataset)
        if not dataset.has_time:
            raise DataError("tvbpr needs interaction timestamps (a timestamp column in "
                            "interactions.csv)", dataset.path)
        self.epochs.fit(dataset.train.times)     # the quantiles: fixed, or the learned fit's start
        object.__setattr__(self, "_dataset", dataset)
        if self.learns_epochs:
            object.__setattr__(self, "bin_edges", segmentation.bin_edges(dataset.train.times, self.config.time_bins))

    def time_groups(self, times) -> np.ndarray:
        """The time epoch of each time [n]: times of one epoch give the same item vectors."""
        return np.asarray(self.epochs(np.asarray(times, np.int64)))

    # ---- the predictor -----------------------------------------------------------------
    def item_vectors(self, items, training=False):
        if tf.executing_eagerly() and set(items) == set(self.item_feature_keys):
            # Evaluation embeds the catalogue once per time epoch: one compiled
            # call each time instead of a dozen eager ops.
            return self._compiled_item_vectors(items[schema.ITEM], items[schema.FEATURES], items[schema.TIME])
        return self.epoch_item_vectors(items, self.epochs.one_hot(items[schema.TIME]))

    @tf.function(reduce_retracing=True)
    def _compiled_item_vectors(self, item_ids, features, times):
        items = {schema.ITEM: item_ids, schema.FEATURES: features}
        return self.epoch_item_vectors(items, self.epochs.one_hot(times))

    def epoch_item_vectors(self, items, epochs):
        """[γ_i, θ_i(t), β_i + β_{i,ep(t)} + β'(t)ᵀf_i] with the epoch given as one-hot rows
        `epochs` [..., T] (the item's `time` is not read)."""
        item_ids = items[schema.ITEM]
        features = self.visual_features(items)
        bias = self._visual_bias_in(features, epochs)
        if self.use_item_bias:
            bias += tf.gather(self.item_bias, item_ids)
        if self.item_bias_drift is not None:
            bias += tf.reduce_sum(tf.gather(self.item_bias_drift, item_ids) * epochs, axis=-1)
        return tf.concat([tf.gather(self.item_factors, item_ids), self._visual_in(features, epochs),
                          bias[..., None]], axis=-1)

    def visual_embedding(self, items):
        """θ_i(t) = (1 + w(t)) ⊙ (E f_i) + ΔE(t) f_i: [..., K']."""
        return self._visual_in(self.visual_features(items), self.epochs.one_hot(items[schema.TIME]))

    def visual_bias_term(self, items):
        """β'(t)ᵀ f_i = β'ᵀf_i + Δβ'(t)ᵀf_i: [...]."""
        return self._visual_bias_in(self.visual_features(items), self.epochs.one_hot(items[schema.TIME]))

    def _visual_in(self, features, epochs):
        weights = 1.0 + tf.tensordot(epochs, self.dimension_drift, axes=1)     # [..., K']
        num_epochs, feature_dim, visual_dim = self.projection_drift.shape
        # every epoch's ΔE(t) f_i in one matmul: [F, T·K'] → [..., T, K']
        stacked = tf.reshape(tf.transpose(self.projection_drift, [1, 0, 2]), [feature_dim, -1])
        drift = tf.tensordot(features, stacked, axes=1)
        drift = tf.reshape(drift, tf.concat([tf.shape(drift)[:-1], [num_epochs, visual_dim]], 0))
        drift = tf.reduce_sum(drift * epochs[..., None], axis=-2)
        return weights * tf.tensordot(features, self.visual_projection, axes=1) + drift

    def _visual_bias_in(self, features, epochs):
        per_epoch = tf.tensordot(features, tf.transpose(self.visual_bias_drift), axes=1)
        return tf.tensordot(features, self.visual_bias, axes=1) + tf.reduce_sum(per_epoch * epochs, axis=-1)

    def regularization(self, batch):
        drift = tf.add_n([tf.reduce_sum(tf.square(v)) for v in (
            self.dimension_drift, self.projection_drift, self.visual_bias_drift)])
        total = super().regularization(batch) + self.config.l2_drift * drift
        if self.item_bias_drift is not None:
            for side in ("pos", "neg"):
                rows = tf.gather(self.item_bias_drift, batch[side][schema.ITEM])
                total += self.config.l2_drift * _mean_squared_norm(rows)
        return total

    # ---- learned epochs (§4.3) -----------------------------------------------------------
    def end_epoch(self, epoch: int) -> None:
        """Coordinate ascent's second step after every `segment_every` training epochs:
        the boundaries that maximise the BPR log-likelihood with the parameters fixed."""
        if not self.learns_epochs or (epoch + 1) % max(1, int(self.config.segment_every)):
            return
        table = self.bin_log_likelihoods(epoch)
        before = segmentation.segmentation_objective(table, self.epochs.boundaries.numpy(), self.bin_edges)
        bin_epochs, objective = segmentation.best_segmentation(table, self.config.min_epoch_bins)
        boundaries = segmentation.boundaries_of(bin_epochs, self.bin_edges)
        self.epochs.boundaries.assign(boundaries)
        self.segmentation_rounds.append({
            "after_epoch": int(epoch), "boundaries": [int(b) for b in boundaries],
            "log_likelihood_before": round(before, 4), "log_likelihood": round(objective, 4)})

    def bin_log_likelihoods(self, seed_offset: int = 0, batch_size: int | None = None) -> np.ndarray:
        """L [time_bins, T]: Σ ln σ(x̂_ui(e) − x̂_uj(e)) over the training interactions (u, i, t)
        of each time bin (at most `segment_samples`, each against `num_negatives` uniformly
        drawn items j, averaged), scored with epoch e's parameters. `batch_size`: interactions
        scored at a time; by default as many as keep their gathered f_i within
        `_SEGMENTATION_BATCH_BYTES` (at most 4,096)."""
        users, pos, neg, bins = self._segmentation_sample(seed_offset)
        features = self._item_features()
        if batch_size is None:
            batch_size = segmentation_batch_size(1 + neg.shape[1], int(features.shape[-1]))
        num_epochs, rows = self.epochs.num_epochs, []
        for lo in range(0, len(users), batch_size):
            part = slice(lo, lo + batch_size)
            count = len(users[part])
            user_vectors = self.user_vectors(tf.constant(users[part]))[:, None, :]
            ids = np.concatenate([pos[part, None], neg[part]], axis=1)          # [b, 1 + N]
            items = {schema.ITEM: tf.constant(ids), schema.FEATURES: tf.gather(features, ids)}
            per_epoch = []
            for e in range(num_epochs):
                epochs = tf.one_hot(tf.fill(ids.shape, e), num_epochs)
                scores = tf.reduce_sum(user_vectors * self.epoch_item_vectors(items, epochs), axis=-1)
                per_epoch.append(tf.reduce_mean(tf.math.log_sigmoid(scores[:, :1] - scores[:, 1:]), axis=1))
            rows.append(tf.stack(per_epoch, axis=1).numpy().reshape(count, num_epochs))
        return segmentation.bin_sums(np.concatenate(rows), bins, len(self.bin_edges) - 1)

    def _segmentation_sample(self, seed_offset):
        train = self._dataset.train
        known = np.flatnonzero(train.times != schema.NO_TIME)
        rng = np.random.default_rng([int(self.config.seed), int(seed_offset)])
        if known.size > int(self.config.segment_samples):
            known = np.sort(rng.choice(known, int(self.config.segment_samples), replace=False))
        negatives = rng.integers(0, self.data_info.num_items, (known.size, self.num_negatives))
        bins = segmentation.bin_of(train.times[known], self.bin_edges)
        return (train.users[known].astype(np.int64), train.items[known].astype(np.int64),
                negatives.astype(np.int64), bins)

    def use_item_table(self, table) -> None:
        """The segmentation gathers f_i from the trainer's table: a table of its own held the
        features a second time."""
        if schema.FEATURES in table.keys:
            object.__setattr__(self, "_feature_matrix", table.matrix(schema.FEATURES))

    def _item_features(self):
        """The catalogue's f_i [items, F] as the table holds them (a CPU variable, `host_matrix`:
        rows read with `tf.gather`); looking every item up copied the whole table once more.
        The trainer's table (`use_item_table`), else one loaded for this."""
        if self._feature_matrix is None:
            table = ItemFeatureTable.for_model(self, self._dataset, keys=(schema.FEATURES,))
            object.__setattr__(self, "_feature_matrix", table.matrix(schema.FEATURES))
        return self._feature_matrix

    def run_records(self):
        """`time_epochs.json`: the epochs the model scores with (after training: those of the
        best checkpoint), each with its start and end, and the re-segmentations of this run."""
        boundaries = [int(b) for b in self.epochs.boundaries.numpy()]
        first, last = self.data_info.time_range
        starts, ends = [first] + boundaries, boundaries + [last]
        record = {
            "segmentation": self.config.epoch_segmentation,
            "time_epochs": self.epochs.num_epochs,
            "boundaries": boundaries,
            "epochs": [{"epoch": e, "start": s, "end": t, "start_utc": iso_day(s), "end_utc": iso_day(t)}
                       for e, (s, t) in enumerate(zip(starts, ends))],
        }
        if self.learns_epochs:
            record["bin_edges"] = [int(b) for b in self.bin_edges]
            record["rounds"] = list(self.segmentation_rounds)
        return {EPOCHS_REPORT: record}
