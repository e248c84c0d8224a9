"""The model contract: every hook the trainer, the evaluator and the servable may call.

A model is a `tf_keras.Model` that scores aligned (user, item) pairs:

    score(users, items) -> x̂(u, i)         users: int [B]; items: dict of item features [B, ...]

and, for a training batch's N negatives per positive, items [B, N, ...] → scores [B, N].

Factorising models also expose `user_vectors(users)` and `item_vectors(items)` with
x̂(u, i) = user_vectors(u) · item_vectors(i), so the catalogue is embedded once and top-K
is a matrix product.

Everything below is declared here with its default, so a new model overrides what it needs
and nothing outside `models/` discovers a hook by `getattr`/`hasattr` (the way `tfrs.Model`
and Model Garden's `base_task.Task` declare theirs). The hooks, by who calls them:

| caller | hook | default |
|---|---|---|
| everyone | `config_class` | `ModelConfig`: the family's hyper-parameters (a dataclass; they become flags) |
| everyone | `item_feature_keys`, `factorised` | `("item",)`: the item features the pipelines attach; True: x̂ = `user_vectors` · `item_vectors` |
| trainer | `train_pipeline`, `validation_metric` | `"bpr_triplets"` (a pipeline of `data/pipelines.py`); `"auc"`: what early stopping watches |
| trainer | `runs_cnn_every_step` | `image` among the item_feature_keys: one step per train call by default (a Ctrl-C is seen between calls) |
| trainer | `trainable_by_gradient` | True (False: fitted in `prepare`, validated once, no steps: random, PopRank, VisRank) |
| trainer | `regularization(batch)` | 0: the papers' λ terms, which the default `compute_loss` adds |
| building | `item_feature_specs()`, `build_variables()` | specs from `DataInfo` + config; one `score` call on two dummy rows, which must give shape [2] |
| trainer | `prepare(dataset)` | nothing |
| trainer | `use_item_table(table)` | nothing (TVBPR's segmentation gathers f_i from it rather than load a table of its own) |
| trainer | `create_optimizers(make)`, `train_step(batch, optimizers)` | one optimizer; BPR on `compute_loss` |
| trainer | `begin_epoch(epoch, min_stage)`, `stage`, `num_stages`, `learning_rate_scale` | one stage |
| trainer | `end_epoch(epoch)` | nothing (TVBPR re-fits its learned time epochs here) |
| trainer | `run_records()` | none: JSON records the trainer writes into the run folder |
| trainer | `validation_score(dataset)` | None: the trainer's AUC protocol |
| trainer | `epoch_images(dataset)` | none: pictures to record after each epoch (a GAN's samples) |
| evaluator, servable | `embed_catalogue_items(items)` | the items as they are: the item half of `score_catalogue`, computed once per catalogue batch |
| evaluator | `score_catalogue(users, items, times)`, `time_groups(times)` | tiled `score`; one group per time |
| evaluator (outfit models) | `outfit_scores(users, outfits, binary)` | TypeError: not an outfit model |
| evaluator (outfit models) | `splits_outfit_scores`, `outfit_score_parts(users, outfits, binary)` | False: no (g, α p) split of eq. 4; TypeError |
| servable | `catalogue_state`, `extra_signatures`, `image_size`, `features_file`, `default_features_file` | item vectors if factorising, else item features; no extra signature; `features.npy` |
| building, export, explain | `regions_file` | '' = the dataset's `regions.npz` (models with `regions` among their item features) |
| servable | `catalogue_table(key)` | None: the servable stores the catalogue's item feature `key` itself (else a variable of the model that holds it: VisRank max pooling's unit features) |
| servable | `scores_outfits` | False: scores single items (True: `outfit_scores` only, no catalogue top-K) |
| servable (outfit models) | `feature_maps_source`, `outfit_scores_from_maps(users, maps, filled)` | None: reads no fixed feature maps; TypeError |
| servable (outfit models) | `photo_feature_maps()` | None: no backbone of its own (photos → maps by the one `feature_maps_source` records) |

A training batch is `{"user": [B], "pos": {item features [B]}, "neg": {item features [B]}}`
(item features `[B, N]` when `num_negatives` N > 1), plus `"time": [B]` when the dataset has
timestamps. Item features are keyed as in `tfvisrec.data.schema` (`item`, `image`,
`category`, `attributes`, `features`, `time`, `regions`…); a model lists the ones it needs in
`item_feature_keys` and the pipelines attach exactly those.
"""
import dataclasses
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec.config import ModelConfig
from tfvisrec.data import schema
from tfvisrec.data.feature_files import FEATURES_FILE

# What a servable precomputes over the catalogue (`Recommender.catalogue_state`).
VECTORS = "item_vectors"     # item_vectors of every item: top-K is one matrix product
FEATURES = "item_features"   # the item features themselves (decoded images included): scored by `score`


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What a model may know about the data when it is built (sizes, vocabularies)."""

    num_users: int
    num_items: int
    num_categories: int = 0
    attribute_cardinalities: Tuple[int, ...] = ()
    has_time: bool = False
    time_range: Tuple[int, int] = (0, 0)
    feature_dim: int = 0
    region_shape: Tuple[int, int] = (0, 0)   # (A, C) of the `regions` item feature

    @classmethod
    def from_dataset(cls, dataset, feature_dim: int = 0, region_shape: Tuple[int, int] = (0, 0)) -> "DataInfo":
        times = dataset.train.times
        known = times[times != schema.NO_TIME]
        return cls(
            num_users=dataset.num_users,
            num_items=dataset.num_items,
            num_categories=len(dataset.categories),
            attribute_cardinalities=tuple(len(v) for v in dataset.attribute_values),
            has_time=dataset.has_time and known.size > 0,
            time_range=(int(known.min()), int(known.max())) if known.size else (0, 0),
            feature_dim=feature_dim,
            region_shape=tuple(region_shape),
        )


class Recommender(keras.Model):
    """Base class of every model: BPR training over `score`, the hooks of the module table.

    Subclasses implement `score`, and when factorising, `user_vectors`/`item_vectors`.
    """

    registered_name = "recommender"
    # The family's hyper-parameters: a dataclass extending ModelConfig, declared beside the
    # model (its fields become flags; `image_size` with `image`, `features_file` with
    # `features`, `regions_file` with `regions` among the item_feature_keys).
    config_class = ModelConfig
    item_feature_keys: Tuple[str, ...] = (schema.ITEM,)
    factorised = True
    trainable_by_gradient = True
    train_pipeline = "bpr_triplets"   # the tf.data pipeline the trainer builds (data/pipelines.py)
    validation_metric = "auc"         # what early stopping watches
    # Signatures beyond the scoring ones every model gets where they apply (recommend, score,
    # score_images, embed_items): names of builders in `serving/signatures.py`, e.g. ("explain",).
    extra_signatures: Tuple[str, ...] = ()
    # The dataset's file of precomputed features read when `--features_file` is empty:
    # CNN features (`features.npy`), or the classifier's `attribute_probs.npz` (I-VBPR).
    default_features_file = FEATURES_FILE
    # Outfit models (PAN, FHN) score whole outfits (`outfit_scores`), not single items: the
    # servable then offers no catalogue signature (recommend, score), only theirs.
    scores_outfits = False

    def __init__(self, data_info: DataInfo, config, **kwargs):
        super().__init__(name=kwargs.pop("name", self.registered_name), **kwargs)
        self.data_info = data_info
        self.config = config

    # ---- inputs and building -----------------------------------------------------------
    @property
    def num_negatives(self) -> int:
        return max(1, int(self.config.num_negatives))

    @property
    def image_size(self) -> int:
        """Square size of the images this model reads (when `image` is an item feature)."""
        return int(self.config.image_size) if schema.IMAGE in self.item_feature_keys else 0

    @property
    def runs_cnn_every_step(self) -> bool:
        """Whether a training step runs a CNN on photos (about a second a step on 2 CPU cores):
        the trainer then runs one step per call unless `--steps_per_loop` says otherwise, so
        that a Ctrl-C, seen between calls, is seen within a step."""
        return schema.IMAGE in self.item_feature_keys

    @property
    def features_file(self) -> str:
        """Precomputed item features to read ('' = the dataset's `default_features_file`)."""
        return str(self.config.features_file) if schema.FEATURES in self.item_feature_keys else ""

    @property
    def regions_file(self) -> str:
        """Precomputed attribute regions to read ('' = the dataset's `regions.npz`)."""
        return str(self.config.regions_file) if schema.REGIONS in self.item_feature_keys else ""

    def item_feature_specs(self) -> Dict[str, tf.TensorSpec]:
        """One item's features, per key of `item_feature_keys` (no batch dimension)."""
        info = self.data_info
        specs = {
            schema.ITEM: tf.TensorSpec([], tf.int64),
            schema.IMAGE: tf.TensorSpec([self.image_size, self.image_size, 3], tf.float32),
            schema.CATEGORY: tf.TensorSpec([], tf.int32),
            schema.ATTRIBUTES: tf.TensorSpec([len(info.attribute_cardinalities)], tf.int32),
            schema.FEATURES: tf.TensorSpec([info.feature_dim], tf.float32),
            schema.TIME: tf.TensorSpec([], tf.int64),
            schema.REGIONS: tf.TensorSpec(list(info.region_shape), tf.float32),
            schema.REGION_BOXES: tf.TensorSpec([info.region_shape[0], 4], tf.float32),
            schema.REGION_CLASSES: tf.TensorSpec([info.region_shape[0]], tf.int32),
        }
        return {key: specs[key] for key in self.item_feature_keys}

    def build_variables(self) -> None:
        """Create every variable from `DataInfo` and `item_feature_specs`, reading no data:
        `score` on two rows of zeros (index 0 for users and items, the earliest known time),
        which must give one score per row; with `num_negatives` N > 1 also on items [2, N],
        which must give [2, N] (a [2] there would silently train a wrong loss). A model
        whose `score` does not touch all its variables overrides this."""
        users = tf.zeros([2], tf.int64)
        self._check_score_shape(self.score(users, self._zero_items([2]), training=False), [2])
        if self.num_negatives > 1:
            shape = [2, self.num_negatives]
            self._check_score_shape(self.score(users, self._zero_items(shape), training=False), shape)

    def _zero_items(self, leading: list) -> dict:
        items = {}
        for key, spec in self.item_feature_specs().items():
            fill = self.data_info.time_range[0] if key == schema.TIME else 0
            items[key] = tf.fill([*leading, *spec.shape], tf.constant(fill, spec.dtype))
        return items

    def _check_score_shape(self, scores, expected: list) -> None:
        shape = tf.convert_to_tensor(scores).shape.as_list()
        if shape != expected:
            raise ValueError(f"{type(self).__name__}.score gave shape {shape} for items {expected}; "
                             f"it must give one score per (user, item) pair: [B] for items [B] "
                             f"and [B, N] for items [B, N] (--num_negatives N)")

    # ---- training ----------------------------------------------------------------------
    def prepare(self, dataset) -> None:
        """Called once with the loaded `Dataset` before training or serving (statistics,
        per-user tables); must not decode the catalogue's images."""

    def use_item_table(self, table) -> None:
        """Called once by the trainer with the `ItemFeatureTable` it built for this model
        (`ItemFeatureTable.for_model`), before the first epoch: a model that reads the
        catalogue's stored features outside the pipelines keeps it rather than load a second
        copy of them. Default: nothing."""

    def regularization(self, batch) -> tf.Tensor:
        """Penalty on the parameters a batch touches (the papers' lambda terms)."""
        return tf.constant(0.0)

    def compute_loss(self, batch, training: bool = True) -> tf.Tensor:
        """BPR-Opt (Rendle et al. 2009, eq. 4): -mean ln σ(x̂_ui − x̂_uj) + regularisation."""
        from tfvisrec import losses
        pos = self.score(batch["user"], batch["pos"], training=training)
        neg = self.score(batch["user"], batch["neg"], training=training)
        return losses.bpr_loss(pos, neg) + self.regularization(batch)

    def create_optimizers(self, make_optimizer: Callable[[], keras.optimizers.Optimizer]
                          ) -> Dict[str, keras.optimizers.Optimizer]:
        """The optimizers `train_step` uses, by checkpoint name, each built over the
        variables it updates (a resumed run restores their slots). `make_optimizer()` gives
        a new optimizer of the run's `--optimizer` and `--learning_rate`."""
        optimizer = make_optimizer()
        if self.trainable_variables:
            optimizer.build(self.trainable_variables)
        return {"optimizer": optimizer}

    def train_step(self, batch, optimizers: Dict[str, keras.optimizers.Optimizer]) -> tf.Tensor:
        """One step on this replica's part of a batch → its loss. Default: gradient of
        `compute_loss` (+ layer losses) on every trainable variable, summed over replicas.
        A model with several networks and optimizers (a GAN) overrides this; it runs inside
        the trainer's `tf.function` and distribution strategy."""
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss = self.compute_loss(batch, training=True)
            if self.losses:
                loss += tf.add_n(self.losses)
            scaled = loss / replicas
        variables = self.trainable_variables
        optimizers["optimizer"].apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss

    def begin_epoch(self, epoch: int, min_stage: int = 0) -> bool:
        """Called at each epoch start. Staged models (a CNN frozen for the first epochs) set
        the stage of `epoch` here, never below `min_stage` (raised by the trainer when early
        stopping ends a stage). True when the trainable variables changed (the trainer then
        rebuilds its train step)."""
        return False

    def end_epoch(self, epoch: int) -> None:
        """Called when an epoch's batches are done, before its validation and its checkpoint:
        non-gradient steps on the model's own variables (TVBPR's coordinate ascent re-fits
        its epoch boundaries). Default: nothing."""

    def run_records(self) -> Dict[str, dict]:
        """JSON records about the trained model, file name → record, that the trainer writes
        into the run folder after training (from the best checkpoint's weights), e.g. TVBPR's
        `time_epochs.json`. Default: none."""
        return {}

    @property
    def num_stages(self) -> int:
        """How many training stages the model has (early stopping ends each in turn)."""
        return 1

    @property
    def stage(self) -> int:
        """The current stage, 0-based."""
        return 0

    @property
    def learning_rate_scale(self) -> float:
        """The trainer's learning rate is multiplied by this in the current stage."""
        return 1.0

    def validation_score(self, dataset) -> Optional[float]:
        """The number early stopping watches (higher is better), or None for the trainer's
        validation AUC over the catalogue (`evaluation.protocols.validate`)."""
        return None

    def epoch_images(self, dataset) -> Dict[str, np.ndarray]:
        """Pictures of the model after an epoch, by name → uint8 [H, W, 3] (a GAN's samples):
        the trainer writes each to `model_dir/samples/<name>-epoch<NNN>.png` and to
        TensorBoard. Default: none."""
        return {}

    # ---- evaluation --------------------------------------------------------------------
    def embed_catalogue_items(self, items: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """What `score_catalogue` reads of a catalogue batch {key: [n, ...]}, computed once per
        batch however many blocks of users are scored against it. Default: the items as they
        are; a model whose item half is costly (a CNN over the photos) returns it computed."""
        return items

    def score_catalogue(self, users, items: Dict[str, tf.Tensor], times=None) -> tf.Tensor:
        """x̂(u, i) for users [b] against a catalogue batch → [b, n]; `items` is what
        `embed_catalogue_items` returned for it; `times` [b] for time-aware models. Default:
        `score` on the b·n tiled pairs (the evaluator keeps b·n within its memory budget); a
        model with a faster way overrides."""
        users = tf.convert_to_tensor(users)
        count, width = tf.shape(users)[0], tf.shape(next(iter(items.values())))[0]
        pair_items = {k: _tile_rows(v, count) for k, v in items.items()}
        if times is not None:
            pair_items[schema.TIME] = tf.repeat(tf.convert_to_tensor(times, tf.int64), width)
        flat = self.score(tf.repeat(users, width), pair_items, training=False)
        return tf.reshape(tf.cast(flat, tf.float32), [count, width])

    def outfit_scores(self, users, outfits, binary: bool = False, training: bool = False) -> tf.Tensor:
        """Outfit models (PAN, FHN): y(u, O) for users [B] and outfits [B, S] of item indices
        (-1 = empty slot) → [B]; `binary` scores with binary codes where the model has them."""
        raise TypeError(f"{type(self).__name__} does not score outfits")

    # Outfit models whose score is y = g + α p (PAN/FHN eq. 4) set this and implement
    # `outfit_score_parts`; the evaluator then also scores FITB by each term alone.
    splits_outfit_scores = False

    def outfit_score_parts(self, users, outfits, binary: bool = False):
        """(g [B], α p [B]): the two terms of y(u, O) = g + α p (see `splits_outfit_scores`)."""
        raise TypeError(f"{type(self).__name__} does not split its outfit scores")

    @property
    def feature_maps_source(self):
        """Models reading fixed item feature maps (PAN, FHN): a `data.feature_maps.MapsSource`
        (their shape and the backbone that made them, if recorded), after `prepare`; else None."""
        return None

    def photo_feature_maps(self):
        """Outfit models whose item maps come from their own backbone, trained end to end: a
        `vision.photo_maps.PhotoFeatureMaps` running it (what `outfit_score_images` serves
        photos with); None for models reading fixed maps (the export loads the backbone their
        `feature_maps_source` records) and for every other model."""
        return None

    def outfit_scores_from_maps(self, users, maps, filled, binary: bool = False) -> tf.Tensor:
        """Outfit models reading feature maps: `outfit_scores` for outfits given by their items'
        maps [B, S, h, w, C] and `filled` [B, S] (False = empty slot) → [B] (scoring photos)."""
        raise TypeError(f"{type(self).__name__} does not score outfits from feature maps")

    def time_groups(self, times: np.ndarray) -> np.ndarray:
        """Time-aware factorising models: a group key per time such that times of one group
        give the same item vectors (the evaluator embeds the catalogue once per group).
        Default: every distinct time is its own group."""
        return np.asarray(times)

    # ---- serving -----------------------------------------------------------------------
    @property
    def catalogue_state(self) -> str:
        """What a servable precomputes over the catalogue: `VECTORS` (item_vectors; top-K is a
        matrix product) for factorising models, else `FEATURES` (every item feature the model
        reads, decoded images included, scored through `score_catalogue`)."""
        return VECTORS if self.factorised else FEATURES

    def catalogue_table(self, key: str) -> Optional[tf.Variable]:
        """A variable of the model, [num_items, ...] as `item_feature_specs()[key]`, that the
        servable (`FEATURES`) stores as the catalogue's item feature `key` instead of a copy:
        the model holds it already, in a form `score` reads alike (VisRank's max pooling: its
        unit features; cosine ignores the scale). The model must read it densely (a sparse
        gather switches a variable to copy-on-read: `serving/tables.py`). None: not held."""
        return None

    # ---- scoring -----------------------------------------------------------------------
    def score(self, users, items: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        """x̂(u, i) for users [B] and items [B] (→ [B]) or [B, N] (a batch's N negatives each,
        → [B, N]). Default, for a factorising model: user_vectors · item_vectors."""
        if not self.factorised:
            raise TypeError(f"{type(self).__name__} is not factorising, so it must override score()")
        u = self.user_vectors(users, training=training)
        v = self.item_vectors(items, training=training)
        if v.shape.rank == u.shape.rank + 1:   # N negatives per user
            u = u[:, None, :]
        return tf.reduce_sum(u * v, axis=-1)

    def user_vectors(self, users, training: bool = False) -> tf.Tensor:
        raise TypeError(f"{type(self).__name__} is not factorising: score the catalogue with score()")

    def item_vectors(self, items: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        raise TypeError(f"{type(self).__name__} is not factorising: score the catalogue with score()")

    def call(self, inputs, training=False):
        """Keras entry point: `inputs = {"user": ..., **item features}` → scores."""
        items = {k: v for k, v in inputs.items() if k != "user"}
        return self.score(inputs["user"], items, training=training)


def l2(*tensors) -> tf.Tensor:
    """Sum of squares of the given tensors (the ‖Θ‖² terms of the papers)."""
    return tf.add_n([tf.reduce_sum(tf.square(t)) for t in tensors])


def _tile_rows(values, repeats):
    """[c, ...] → [repeats · c, ...]: the whole batch `repeats` times, in order."""
    values = tf.convert_to_tensor(values)
    multiples = tf.concat([[repeats], tf.ones([tf.rank(values) - 1], tf.int32)], axis=0)
    return tf.tile(values, multiples)
