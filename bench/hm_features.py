"""The H&M photo dataset's fixed item features, made once per backbone (bench/visual_hm.py).

`features.npy` / `attribute_probs.npz` (`tfvisrec.vision.features`) and, when a model of the
bench reads them, SAERS' attribute regions `regions.npz` (`tfvisrec.vision.region_features`),
written into the dataset folder unless already made from the same weights.
"""
import json
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ensure_features(dataset, weights, regions=False, region_feature="roi"):
    """Write features.npy / attribute_probs.npz into the dataset folder unless made from
    `weights`; with `regions`, also SAERS' regions.npz (needs an attribute classifier) whose
    f_a^k is `region_feature` (made anew when the file holds the other kind). Features made
    anew drop a regions.npz of other weights."""
    from tfvisrec.data.feature_files import REGIONS_FILE
    from tfvisrec.data.region_file import stored_region_feature
    from tfvisrec.vision import features as features_lib
    info_path = os.path.join(dataset.path, features_lib.INFO_FILE)
    regions_path = os.path.join(dataset.path, REGIONS_FILE)
    fresh = False
    if os.path.exists(info_path):
        with open(info_path, encoding="utf-8") as f:
            fresh = json.load(f).get("weights") == os.path.abspath(weights)
    if not fresh:
        print(f"extracting item features with {weights} → {dataset.path}", flush=True)
        features, probs, info = features_lib.extract(dataset, weights, verbose=1)
        features_lib.write_outputs(dataset.path, features, probs, info)
        if os.path.exists(regions_path):
            os.remove(regions_path)
    if regions and os.path.exists(regions_path) and stored_region_feature(regions_path) != region_feature:
        os.remove(regions_path)
    if regions and not os.path.exists(regions_path):
        from tfvisrec.vision import pretrained, region_features
        classifier = region_features.require_classifier(
            pretrained.load_attribute_classifier(weights), weights)
        print(f"extracting attribute regions ({region_feature}) with {weights} → {regions_path}", flush=True)
        features_lib.write_regions(dataset.path, region_features.extract_regions(
            classifier, dataset, batch_size=64, verbose=1, region_feature=region_feature))


def reads_any(flagfile, keys):
    """Whether the model of this flagfile (relative to the repository) reads one of the item
    feature `keys` (`tfvisrec.data.schema`)."""
    from tfvisrec.models import model_flags, registry
    model_config, _ = model_flags.configs_from_flagfile(os.path.join(REPO_ROOT, flagfile))
    return bool(set(keys) & set(registry.get(model_config.model).item_feature_keys))


def needs_regions(flagfiles):
    """Whether a model of these flagfiles reads attribute regions."""
    from tfvisrec.data import schema
    return any(reads_any(flagfile, (schema.REGIONS,)) for flagfile in flagfiles)
