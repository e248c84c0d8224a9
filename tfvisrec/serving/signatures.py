"""Serving signatures as a registry: one small builder per signature.

A builder declares when it applies to a servable (`applies`), builds the `tf.function`
(named inputs with a batch dimension, dict of named outputs), and gives the inputs of one
warmup request (`example`). Exporting a model = every builder that applies. A later model adds
its signature (`explain`, `generate`, `tailor`, `outfit_score`) by registering one builder and
naming it in the model's `extra_signatures`:

    @signature("explain", applies=lambda s: "explain" in s.model.extra_signatures,
               example=lambda ex: {"user": [ex.user_id], "item": [ex.item_ids[0]]})
    def explain(servable):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                      tf.TensorSpec([None], tf.string, name="item")])
        def fn(user, item):
            return servable.model.explain(servable.user_index(user),
                                              servable.item_index(item))
        return fn

Input/output names are the serving contract (DESIGN.md "Serving contract"); the client
(`tfvisrec.client`) sends exactly these.
"""
import dataclasses
from typing import Callable, Dict, List, Optional

import numpy as np
import tensorflow as tf

DEFAULT_SIGNATURE = "serving_default"  # = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
DEFAULT_ALIAS_OF = "recommend"         # serving_default serves this one when present


@dataclasses.dataclass(frozen=True)
class Examples:
    """Real values from the dataset for warmup requests (one row each)."""

    user_id: str
    item_ids: List[str]
    jpeg: Optional[bytes] = None
    category: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class SignatureBuilder:
    name: str
    applies: Callable[[object], bool]
    build: Callable[[object], tf.types.experimental.GenericFunction]
    example: Callable[[Examples, object], Dict[str, np.ndarray]]


_BUILDERS: Dict[str, SignatureBuilder] = {}


def signature(name: str, applies: Callable, example: Callable) -> Callable:
    """Decorator registering `build(servable) -> tf.function` under `name`.

    `example(examples, servable)` returns the inputs of one warmup request."""

    def decorate(build):
        if name in _BUILDERS:
            raise ValueError(f"signature {name!r} registered twice")
        _BUILDERS[name] = SignatureBuilder(name, applies, build, example)
        return build

    return decorate


def names() -> List[str]:
    return list(_BUILDERS)


def applicable(servable) -> List[SignatureBuilder]:
    """The builders that apply to `servable`, in registration order."""
    return [b for b in _BUILDERS.values() if b.applies(servable)]


def build_signatures(servable) -> Dict[str, tf.types.experimental.ConcreteFunction]:
    """Concrete functions for every applicable signature, plus `serving_default`.

    The concrete functions are also attached to `servable` (so `tf.saved_model.load(path).score(...)`
    works besides `.signatures["score"]`). Attaching the concrete function, not the
    `tf.function`, matters: `tf.saved_model.save` traces every attached `tf.function` once more,
    which doubled the export time of the step-loop signatures (`generate`, `tailor`)."""
    unknown = sorted(set(servable.model.extra_signatures) - set(_BUILDERS))
    if unknown:
        raise ValueError(f"model {servable.model.name!r} declares signatures {unknown} that no "
                         f"builder registers (registered: {', '.join(_BUILDERS)})")
    builders = applicable(servable)
    if not builders:
        raise ValueError(f"no serving signature applies to model {servable.model.name!r} "
                         f"(item features {servable.item_feature_keys})")
    functions = {}
    for builder in builders:
        functions[builder.name] = builder.build(servable).get_concrete_function()
        setattr(servable, builder.name, functions[builder.name])
    default = DEFAULT_ALIAS_OF if DEFAULT_ALIAS_OF in functions else builders[0].name
    functions[DEFAULT_SIGNATURE] = functions[default]
    return functions


def example_inputs(servable, examples: Examples) -> Dict[str, Dict[str, np.ndarray]]:
    """Warmup inputs for every applicable signature (serving_default included)."""
    builders = applicable(servable)
    out = {b.name: {k: np.asarray(v) for k, v in b.example(examples, servable).items()}
           for b in builders}
    default = DEFAULT_ALIAS_OF if DEFAULT_ALIAS_OF in out else builders[0].name
    out[DEFAULT_SIGNATURE] = out[default]
    return out


# ---- builders --------------------------------------------------------------------------

@signature("recommend", applies=lambda s: s.has_catalogue,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "k": np.array([min(10, s.top_k)], np.int32)})
def recommend(servable):
    """user [B] string, k [B] int32 -> item_ids [B, max k] string, scores [B, max k] float32.

    Top-k over the pre-embedded catalogue (k <= K fixed at export); training items of the
    user excluded when exported with exclude_seen."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None], tf.int32, name="k")])
    def fn(user, k):
        user, k = servable.same_rows(user=user, k=k)
        users = servable.user_index(user)
        return servable.top_items(servable.catalogue_scores(users), users, k)

    return fn


@signature("score", applies=lambda s: s.has_catalogue,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "items": np.array([ex.item_ids[:2]], object)})
def score(servable):
    """user [B] string, items [B, N] string (catalogue ids) -> scores [B, N] float32 = x̂(u, i)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None, None], tf.string, name="items")])
    def fn(user, items):
        user, items = servable.same_rows(user=user, items=items)
        users = servable.user_index(user)
        return {"scores": servable.pair_scores(users, servable.item_index(items))}

    return fn


@signature("score_images", applies=lambda s: s.accepts_images,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "images": np.array([[ex.jpeg]], object)})
def score_images(servable):
    """user [B] string, images [B, N] JPEG/PNG bytes -> scores [B, N] float32.

    Cold-start items: decoded and resized in the graph exactly as in training
    (`tfvisrec.data.images.decode_batch`), every other item feature unknown (-1)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None, None], tf.string, name="images")])
    def fn(user, images):
        user, images = servable.same_rows(user=user, images=images)
        users = servable.user_index(user)
        return {"scores": servable.image_scores(users, images)}

    return fn


@signature("embed_items", applies=lambda s: s.accepts_images and s.factorised,
           example=lambda ex, s: {"images": np.array([ex.jpeg], object)})
def embed_items(servable):
    """images [B] JPEG/PNG bytes -> item_vectors [B, D] float32 (the model's item_vectors)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def fn(images):
        features = servable.cold_item_features(servable.require_rows(images, "images"))
        return {"item_vectors": servable.model.item_vectors(features, training=False)}

    return fn


@signature("explain", applies=lambda s: "explain" in s.model.extra_signatures and s.has_catalogue,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "item": np.array([ex.item_ids[0]], object)})
def explain(servable):
    """user [B] string, item [B] string (catalogue ids) -> attributes [B, A] string, weights
    [B, A] float32 (the user's attention over the item's attributes), classes [B, A] string
    (each attribute's predicted value), class_probabilities [B, A] float32 (the attribute
    classifier's probability of that value; NaN when the catalogue's regions.npz predates
    them), boxes [B, A, 4] float32 ((y1, x1, y2, x2) in [0, 1]), top_attribute [B] string
    (SAERS §3.4)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None], tf.string, name="item")])
    def fn(user, item):
        user, item = servable.same_rows(user=user, item=item)
        users = servable.user_index(user)
        items = servable.item_index(item)
        features = servable.catalogue_item_features(items)
        features.update(servable.explanation.item_features(items))
        return servable.explanation.named(servable.model.explain(users, features),
                                          servable.explanation.item_class_probabilities(items))

    return fn


@signature("explain_images", applies=lambda s: s.explanation is not None and s.explanation.reads_photos,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "images": np.array([ex.jpeg], object)})
def explain_images(servable):
    """user [B] string, images [B] JPEG/PNG bytes (items outside the catalogue) -> the outputs
    of `explain`, the regions computed in the graph by the attribute classifier the export holds
    (SAERS §3.1 on a new photo, then §3.4)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None], tf.string, name="images")])
    def fn(user, images):
        user, images = servable.same_rows(user=user, images=images)
        users = servable.user_index(user)
        features, class_probabilities = servable.explanation.photo_features(images)
        return servable.explanation.named(servable.model.explain(users, features), class_probabilities)

    return fn


@signature("generate", applies=lambda s: s.design is not None,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "category": np.array([s.design.category_names[0]], object),
                                  "seed": np.array([0], np.int64)})
def generate(servable):
    """user [B] string, category [B] string (the GAN's category names), seed [B] int64 ≥ 0 ->
    images [B, k] PNG bytes, scores [B, k] float32 (θ_uᵀΦ), objective [B, k] (eq. 10).

    DVBPR's preference maximisation (eq. 9-10) with the restarts, steps and k fixed at export
    (`serving/design_export.py`): the top k of each row's designs by objective. Traced
    without AutoGraph: the step loop is written out (`design.preference.ascend`)."""

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None], tf.string, name="category"),
                                  tf.TensorSpec([None], tf.int64, name="seed")])
    def fn(user, category, seed):
        user, category, seed = servable.same_rows(user=user, category=category, seed=seed)
        return servable.design.generate(servable.user_index(user), category, seed)

    return fn


@signature("tailor", applies=lambda s: s.design is not None,
           example=lambda ex, s: {"user": np.array([ex.user_id], object),
                                  "image": np.array([ex.jpeg], object),
                                  "category": np.array([s.design.category_names[0]], object)})
def tailor(servable):
    """user [B] string, image [B] JPEG/PNG bytes (an existing item), category [B] string (the
    GAN's category names: the GAN is category-conditional) -> images [B, S] PNG bytes (the
    strip), scores [B, S] float32 (θ_uᵀΦ), l1 [B, S] (distance to the query), stage [B, S]
    int32 (1 = fitting the query, 2 = preference maximisation), step [B, S] int32,
    query_scores [B] float32 (θ_uᵀΦ of the query).

    DVBPR's tailoring (eq. 12, then eq. 9-10) with the step counts fixed at export
    (`serving/design_export.py`). Traced without AutoGraph: the step loops are written out."""

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None], tf.string, name="user"),
                                  tf.TensorSpec([None], tf.string, name="image"),
                                  tf.TensorSpec([None], tf.string, name="category")])
    def fn(user, image, category):
        user, image, category = servable.same_rows(user=user, image=image, category=category)
        return servable.design.tailor(servable.user_index(user), image, category)

    return fn


# the outfit models' signatures (PAN, FHN) live in their own module; importing it registers them
from tfvisrec.serving import outfit_signatures  # noqa: E402,F401  (after `signature` exists)
