"""The built-in default dataset: the synthetic style world with photos, built once into a cache.

`python -m tfvisrec.train --flagfile=configs/<model>.cfg` without `--dataset` trains on it, and
the demo uses it too. Two stages, each built at most once per settings and code version:

1. **the world** (`World`, seconds): `generate_world` (CSVs, one JPEG per item, the ground
   truth) → `ingest` (the dataset folder) and `ingest_catalogue` (the same items as a labelled
   catalogue, for attribute pretraining);
2. **the visual stage** (`Visual`, built only for a model that needs it, about a minute): the
   multi-task attribute classifier of `configs/attributes.cfg` (SAERS eq. 1), shrunk, trained
   briefly on the world's labelled items (the shop's own catalogue: labels, no purchases), and
   `features.npy` of every item extracted with it (`tfvisrec.vision.features`): the f_i of
   VBPR, FM, VisRank, DeepStyle, TVBPR, ImgRec-Dir/FT, and the starting CNN of ImgRec-EtE;
   `attribute_probs.npz`, the named f_i of I-VBPR / I-TVBPR; and `regions.npz`, the items'
   Grad-AAM attribute regions (SAERS eq. 2-3) the SAERS family attends over.

Outfit models (PAN, FHN) train on outfits, which the style world has none of: for them the
default dataset is the synthetic outfit world (`tfvisrec.data.synthetic.outfit_world`: item
feature maps, shoppers with known taste; under a second), built once the same way. It has no
photos, so PAN with its backbone trained end to end needs a `--dataset`.

Layout of the cache ($TFVISREC_CACHE, else $XDG_CACHE_HOME/tfvisrec, else ~/.cache/tfvisrec):

    style-world-<key>/            world/  dataset/  catalogue/  manifest.json
    style-world-<key>/visual-<key>/   pretrained/  features.npy  attribute_probs.npz
                                      regions.npz  features.json  manifest.json
    outfit-world-<key>/           dataset/  manifest.json

Each stage is built in a temporary sibling folder and renamed into place when complete, its
`manifest.json` (every file and its size) written last; a folder whose manifest is missing or
does not match its files (a killed build of an older version, a truncated file) is rebuilt,
never used (`cached_stages.py`). An `fcntl.flock` on `style-world-<key>.lock` makes concurrent
runs wait for one build and then share it.
"""
import dataclasses
import hashlib
import json
import os
import shutil
from typing import Callable, Dict, List

from tfvisrec.cached_stages import CACHE_LOCATIONS, build_stage, read_manifest, stage_path
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.lock_file import exclusive_lock
from tfvisrec.vision.cnn_config import FineTunedCNNConfig

FORMAT = 2                 # bump when the cache layout or what a stage holds changes
LABEL_COLUMNS = ("category", "colour", "pattern", "sleeve", "neckline", "print")
# DVBPR's training throughput with its whole 64 px CNN-F (configs/dvbpr.cfg, batch 128), measured
# with `python -m tfvisrec.train --flagfile=configs/dvbpr.cfg` on the default world, 2 idle CPU cores,
# on the slowest and the fastest host it ran on (an Intel VM, an AMD EPYC VM).
DVBPR_TRIPLETS_PER_SECOND = (23, 72)
REPO_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "configs")


@dataclasses.dataclass(frozen=True)
class WorldSettings:
    """The world's size and seed (its other knobs are `SyntheticConfig`'s defaults)."""

    num_users: int = 300
    num_items: int = 600
    seed: int = 0            # the world's and the split's

    def key(self) -> str:
        return _digest({"format": FORMAT, "dataset_format": schema.FORMAT_VERSION, "stage": "world",
                        **dataclasses.asdict(self)})

    def describe(self) -> str:
        return f"{self.num_users} users, {self.num_items} items, seed {self.seed}"

    def problems(self, users_flag: str, items_flag: str) -> List[str]:
        """What is out of range, each named by the command's flag for it ([] when nothing):
        checked before the cache's lock is taken and the world's drawing is announced."""
        from tfvisrec.data.synthetic.config import MIN_ITEMS, MIN_USERS
        return [f"{flag} must be at least {low}, got {value}"
                for flag, low, value in ((users_flag, MIN_USERS, self.num_users), (items_flag, MIN_ITEMS, self.num_items))
                if value < low]


@dataclasses.dataclass(frozen=True)
class VisualSettings:
    """The brief attribute pretraining (configs/attributes.cfg, shrunk for a CPU minute)."""

    image_size: int = 32     # the CNN-F input; fixed features barely change at 64 px (README)
    fc_width: int = 128      # fc6/fc7 width = the feature dimension F
    epochs: int = 5
    batch_size: int = 8
    learning_rate: float = 0.0005
    seed: int = 101

    def key(self) -> str:
        return _digest({"format": FORMAT, "stage": "visual", **dataclasses.asdict(self)})


@dataclasses.dataclass(frozen=True)
class OutfitWorldSettings:
    """The synthetic outfit world's seed (its sizes are `OutfitWorldConfig`'s defaults)."""

    seed: int = 0

    def key(self) -> str:
        return _digest({"format": FORMAT, "dataset_format": schema.FORMAT_VERSION, "stage": "outfits",
                        **dataclasses.asdict(self)})


@dataclasses.dataclass(frozen=True)
class World:
    """A built world: its folders and what was recorded while building it."""

    root: str
    info: Dict

    @property
    def world_dir(self) -> str:
        return os.path.join(self.root, "world")

    @property
    def dataset_dir(self) -> str:
        return os.path.join(self.root, "dataset")

    @property
    def catalogue_dir(self) -> str:
        return os.path.join(self.root, "catalogue")


@dataclasses.dataclass(frozen=True)
class Visual:
    """A built visual stage: the pretrained classifier and the items' features."""

    root: str
    info: Dict

    @property
    def pretrained_dir(self) -> str:
        return os.path.join(self.root, "pretrained")

    @property
    def features_file(self) -> str:
        return os.path.join(self.root, "features.npy")

    @property
    def regions_file(self) -> str:
        return os.path.join(self.root, "regions.npz")


def ensure_world(settings: WorldSettings = WorldSettings(), cache_dir: str = "",
                 rebuild: bool = False, log: Callable[[str], None] = print) -> World:
    """The world of `settings` in the cache, built first if it is not there (or `rebuild`)."""
    root = stage_path(cache_dir, f"style-world-{settings.key()}")
    with exclusive_lock(root + ".lock"):
        info = None if rebuild else read_manifest(root)
        if info is None:
            log(f"default dataset: drawing the synthetic style world ({settings.describe()}, "
                f"64 px photos) and ingesting it into {root} (once)")
            info = build_stage(root, lambda tmp: _build_world(tmp, settings),
                                {"settings": dataclasses.asdict(settings)})
            log(f"default dataset: built in {info['seconds']:.0f} s: {os.path.join(root, 'dataset')}")
        else:
            log(f"default dataset: {os.path.join(root, 'dataset')} (the synthetic style world, "
                f"{settings.describe()}; built earlier, reused)")
    return World(root, info)


def ensure_outfit_world(settings: OutfitWorldSettings = OutfitWorldSettings(), cache_dir: str = "",
                        rebuild: bool = False, log: Callable[[str], None] = print) -> str:
    """The dataset folder of the synthetic outfit world in the cache, built first if needed."""
    root = stage_path(cache_dir, f"outfit-world-{settings.key()}")
    dataset_dir = os.path.join(root, "dataset")
    with exclusive_lock(root + ".lock"):
        info = None if rebuild else read_manifest(root)
        if info is None:
            info = build_stage(root, lambda tmp: _build_outfit_world(tmp, settings),
                                {"settings": dataclasses.asdict(settings)})
            log(f"default dataset: drew the synthetic outfit world (item feature maps, shoppers with known "
                f"taste; {info['users']} users, {info['outfits']} outfits) into {dataset_dir} (once)")
        else:
            log(f"default dataset: {dataset_dir} (the synthetic outfit world, seed {settings.seed}; "
                "built earlier, reused)")
    return dataset_dir


def ensure_visual(world: World, settings: VisualSettings = VisualSettings(), rebuild: bool = False,
                  log: Callable[[str], None] = print) -> Visual:
    """The world's pretrained CNN and item features, built first if they are not there."""
    root = os.path.join(world.root, f"visual-{settings.key()}")
    with exclusive_lock(world.root + ".lock"):
        info = None if rebuild else read_manifest(root)
        if info is None:
            log(f"default dataset: pretraining a CNN-F attribute classifier ({settings.image_size} px, "
                f"{settings.epochs} epochs) on the world's labelled items and extracting every "
                f"item's features and attribute regions into {root} (once)")
            info = build_stage(root, lambda tmp: _build_visual(tmp, root, world, settings),
                                {"settings": dataclasses.asdict(settings)})
            accuracy = ", ".join(f"{k} {v:.2f}" for k, v in sorted(info["test_accuracy"].items()))
            log(f"default dataset: pretrained and extracted in {info['seconds']:.0f} s "
                f"(held-out attribute accuracy: {accuracy})")
        else:
            log(f"default dataset: the pretrained classifier, the items' features, attribute probabilities "
                f"and regions in {root} (reused)")
    return Visual(root, info)


def _build_world(tmp: str, settings: WorldSettings) -> Dict:
    from tfvisrec.data.adapters.catalogue import ingest_catalogue
    from tfvisrec.data.ingest import ingest
    from tfvisrec.data.synthetic import SyntheticConfig, generate_world
    from tfvisrec.data.dataset import load_dataset
    world = generate_world(os.path.join(tmp, "world"), SyntheticConfig(
        num_users=settings.num_users, num_items=settings.num_items, seed=settings.seed))
    items_csv = os.path.join(world, "items.csv")
    dataset = ingest(os.path.join(world, "interactions.csv"), items_csv, images_dir=world,
                     out_dir=os.path.join(tmp, "dataset"), seed=settings.seed, name="style-world")
    ingest_catalogue(items_csv, world, os.path.join(tmp, "catalogue"), label_columns=LABEL_COLUMNS,
                     id_column="item_id", text_columns=(), seed=settings.seed, name="style-world-catalogue")
    loaded = load_dataset(dataset)
    return {"users": loaded.num_users, "items": loaded.num_items, "train_interactions": len(loaded.train),
            "cold_items": int(loaded.is_cold.sum())}


def _build_outfit_world(tmp: str, settings: OutfitWorldSettings) -> Dict:
    from tfvisrec.data.synthetic.outfit_world import (OutfitWorldConfig, make_outfit_world,
                                                      write_outfit_world)
    world = make_outfit_world(OutfitWorldConfig(seed=settings.seed))
    write_outfit_world(world, os.path.join(tmp, "dataset"))
    return {"users": len(world.user_ids), "items": len(world.item_ids),
            "outfits": sum(len(outfits) for outfits in world.table.positives.values())}


def _build_visual(tmp: str, final: str, world: World, settings: VisualSettings) -> Dict:
    import tf_keras as keras
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.models import model_flags
    from tfvisrec.training import checkpoints, fit
    from tfvisrec.vision import features, pretrained, region_features
    keras.utils.set_random_seed(settings.seed)
    model_config, train_config = model_flags.configs_from_flagfile(
        os.path.join(REPO_CONFIGS, "attributes.cfg"), dataset=world.catalogue_dir,
        model_dir=os.path.join(tmp, "pretrained"), epochs=settings.epochs, batch_size=settings.batch_size,
        learning_rate=settings.learning_rate, image_size=settings.image_size, fc_width=settings.fc_width,
        dropout=0.0, patience=0, resume=False, verbose=0, seed=settings.seed)
    classifier, _ = fit(model_config, train_config)
    accuracy = classifier.per_attribute_accuracy(load_dataset(world.catalogue_dir), "test")
    feats, probs, feature_info = features.extract(load_dataset(world.dataset_dir), os.path.join(tmp, "pretrained"))
    feature_info["weights"] = os.path.join(final, "pretrained")   # where it will be, not the temporary folder
    features.write_outputs(tmp, feats, probs, feature_info)
    classifier = pretrained.load_attribute_classifier(os.path.join(tmp, "pretrained"))
    features.write_regions(tmp, region_features.extract_regions(classifier, load_dataset(world.dataset_dir)))
    for folder in (checkpoints.LATEST_DIR, checkpoints.LOGS_DIR):   # best/ is what is loaded: 1/4 the size
        shutil.rmtree(os.path.join(train_config.model_dir, folder), ignore_errors=True)
    return {"test_accuracy": {k: float(v) for k, v in accuracy.items()}, "feature_dim": int(feats.shape[1])}


def _digest(payload: Dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def define_flags() -> None:
    """The flags of `python -m tfvisrec.train` that choose the default world."""
    from absl import flags
    if "default_world_cache" in flags.FLAGS:
        return
    flags.DEFINE_string("default_world_cache", "", "Without --dataset: the cache folder of the built-in "
                        f"default dataset (default: {CACHE_LOCATIONS}).")
    flags.DEFINE_integer("default_world_users", WorldSettings.num_users,
                         "Without --dataset: users of the default synthetic world.")
    flags.DEFINE_integer("default_world_items", WorldSettings.num_items,
                         "Without --dataset: items of the default synthetic world.")


def configs_for_default_world(model_config, train_config, settings: WorldSettings = WorldSettings(),
                              cache_dir: str = "", log: Callable[[str], None] = print,
                              visual_settings: VisualSettings = VisualSettings()):
    """(model_config, train_config) pointed at the default world, with what the model needs:
    the catalogue for the attribute classifier; features (the visual stage) for a model on
    fixed features; attribute regions (the visual stage) for the SAERS family; the pretrained
    CNN for one that freezes part of its CNN (ImgRec-EtE). Outfit models (PAN, FHN) get the
    synthetic outfit world of the same seed instead (DataError for PAN trained end to end:
    that world has no photos)."""
    from tfvisrec.models import registry
    cls = registry.get(model_config.model)
    keys = set(cls.item_feature_keys)
    if cls.train_pipeline == "outfit_pairs":
        from tfvisrec.models.pan_backbone import END_TO_END, OutfitBackboneConfig
        if isinstance(model_config, OutfitBackboneConfig) and model_config.backbone_training == END_TO_END:
            raise DataError(f"{model_config.model} with --backbone_training={END_TO_END} reads the items' photos, "
                            "and the built-in outfit world has feature maps only: pass --dataset= an outfit "
                            "dataset with photos (`python -m tfvisrec.data hm_outfits ...`)")
        return model_config, dataclasses.replace(
            train_config, dataset=ensure_outfit_world(OutfitWorldSettings(settings.seed), cache_dir, log=log))
    world = ensure_world(settings, cache_dir, log=log)
    if cls.train_pipeline == "attributes":
        return model_config, dataclasses.replace(train_config, dataset=world.catalogue_dir)
    train_config = dataclasses.replace(train_config, dataset=world.dataset_dir)
    needs_features = schema.FEATURES in keys and not model_config.features_file
    needs_regions = schema.REGIONS in keys and not model_config.regions_file
    freezes_cnn = isinstance(model_config, FineTunedCNNConfig) and model_config.keeps_loaded_layers()
    needs_cnn = freezes_cnn and not model_config.backbone_weights
    if needs_features or needs_regions or needs_cnn:
        visual = ensure_visual(world, visual_settings, log=log)
        if needs_features:
            model_config = dataclasses.replace(
                model_config, features_file=os.path.join(visual.root, cls.default_features_file))
        if needs_regions:
            model_config = dataclasses.replace(model_config, regions_file=visual.regions_file)
        if needs_cnn:
            size, width = visual.info["settings"]["image_size"], visual.info["settings"]["fc_width"]
            log(f"default dataset: {model_config.model} keeps part of its CNN as loaded, so it starts from "
                f"the pretrained CNN-F (--backbone_weights={visual.pretrained_dir}); --image_size={size} "
                f"--fc_width={width} replace the flagfile's {model_config.image_size} / "
                f"{model_config.fc_width} to match it")
            model_config = dataclasses.replace(model_config, backbone="cnnf", image_size=size, fc_width=width,
                                               backbone_weights=visual.pretrained_dir)
    if schema.IMAGE in keys:
        log(_cnn_cost_note(model_config, train_config, world, photos_only=cls.train_pipeline == "category_images"))
    return model_config, train_config


def _cnn_cost_note(model_config, train_config, world: World, photos_only: bool = False) -> str:
    """What a CNN model's flagfile costs on the default world (its settings are not changed);
    `photos_only`: the model trains on the catalogue's photos, not on purchases (the GAN)."""
    purchases = int(world.info.get("train_interactions", 0))
    if train_config.steps_per_epoch:
        rows = train_config.steps_per_epoch * train_config.batch_size
        per_epoch = f"{train_config.steps_per_epoch} batches of {train_config.batch_size} per epoch"
    else:
        rows = purchases
        per_epoch = ("one pass over the catalogue's photos per epoch" if photos_only
                     else f"{purchases} training purchases per epoch")
    stopping = (f"early stopping after {train_config.patience} without improvement" if train_config.patience > 0
                else "no early stopping")
    note = (f"note: {model_config.model} runs a {model_config.image_size} px CNN on every batch: "
            f"{per_epoch}, up to {train_config.epochs} epochs ({stopping})")
    if not train_config.steps_per_epoch:
        note += (". The flagfile is sized for real data, not for a quick look: on 2 CPU cores expect "
                 "minutes per epoch")
    if model_config.model == "dvbpr" and model_config.image_size == 64:
        slow, fast = DVBPR_TRIPLETS_PER_SECOND
        triplets = rows * max(1, model_config.num_negatives)
        least, most = triplets / fast, triplets / slow
        note += (f" (DVBPR's whole 64 px CNN-F: about {_duration(least)} to {_duration(most)} per epoch, "
                 f"{_duration(least * train_config.epochs)} to {_duration(most * train_config.epochs)} in all, "
                 f"at the {slow}-{fast} triplets/s measured on 2 idle cores of two hosts; more when "
                 "they are shared)")
    return note + "; --epochs=N shortens the run."


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
