"""The built-in default dataset (tfvisrec/default_world.py, its stages built by
tfvisrec/cached_stages.py): built once into the cache, reused, never used when partial or
corrupted, shared by concurrent runs; `train` without --dataset trains on it. Tiny worlds
(40 users, 60 items) keep it fast."""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from temp_writers import killed_writer_folder
from tfvisrec.config import TrainConfig
from tfvisrec.models import registry
from tfvisrec import cached_stages, default_world
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.data.outfits import load_outfits
from tfvisrec.data.region_file import read_regions
from tfvisrec.vision import region_features

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = default_world.WorldSettings(num_users=40, num_items=60, seed=3)
BRIEF = default_world.VisualSettings(epochs=1, batch_size=16)


def _build(cache, settings=TINY):
    lines = []
    world = default_world.ensure_world(settings, str(cache), log=lines.append)
    return world, " ".join(lines)


def test_world_is_built_once_then_reused(tmp_path):
    world, log = _build(tmp_path)
    assert "drawing the synthetic style world" in log and world.root in log
    dataset = load_dataset(world.dataset_dir)
    assert dataset.has_images and dataset.num_users == world.info["users"] > 0
    assert len(dataset.train) == world.info["train_interactions"]
    meta = os.path.join(world.dataset_dir, "meta.json")
    built_at = os.stat(meta).st_mtime_ns

    again, log = _build(tmp_path)
    assert "reused" in log and "drawing" not in log
    assert again.root == world.root and os.stat(meta).st_mtime_ns == built_at
    other, _ = _build(tmp_path, dataclasses.replace(TINY, seed=4))
    assert other.root != world.root


@pytest.mark.parametrize("damage", ["truncated_file", "missing_file", "no_manifest", "bad_manifest"])
def test_partial_or_corrupted_world_is_rebuilt_not_used(tmp_path, damage):
    world, _ = _build(tmp_path)
    shard = sorted(f for f in os.listdir(world.dataset_dir) if f.endswith(".tfrecord") or "shard" in f)
    victim = os.path.join(world.dataset_dir, shard[0] if shard else "meta.json")
    manifest = os.path.join(world.root, cached_stages.MANIFEST)
    if damage == "truncated_file":
        with open(victim, "r+b") as f:
            f.truncate(os.path.getsize(victim) // 2)
    elif damage == "missing_file":
        os.remove(os.path.join(world.world_dir, "items.csv"))
    elif damage == "no_manifest":
        os.remove(manifest)
    else:
        with open(manifest, "w") as f:
            f.write('{"files": ')
    assert cached_stages.read_manifest(world.root) is None

    rebuilt, log = _build(tmp_path)
    assert "drawing the synthetic style world" in log
    assert cached_stages.read_manifest(rebuilt.root) is not None
    assert load_dataset(rebuilt.dataset_dir).num_users == world.info["users"]


def test_a_failed_build_leaves_nothing_and_stale_temporaries_are_removed(tmp_path, monkeypatch):
    root = os.path.join(str(tmp_path), f"style-world-{TINY.key()}")
    stale = killed_writer_folder(tmp_path, f".style-world-{TINY.key()}.tmp-")   # what a killed build leaves

    def killed(tmp, settings):
        os.makedirs(os.path.join(tmp, "dataset"))
        raise KeyboardInterrupt

    monkeypatch.setattr(default_world, "_build_world", killed)
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path)
    assert not os.path.exists(root) and not os.path.exists(stale)
    assert [n for n in os.listdir(tmp_path) if not n.endswith(".lock")] == []


def test_concurrent_runs_share_one_build(tmp_path):
    code = ("import sys; from tfvisrec import default_world as d; "
            "d.ensure_world(d.WorldSettings(40, 60, 3), sys.argv[1])")
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    logs = [out for out, _ in outputs]
    assert sum("drawing" in log for log in logs) == 1 and sum("reused" in log for log in logs) == 1, logs
    assert cached_stages.read_manifest(_build(tmp_path)[0].root) is not None


def test_models_get_what_they_need(tmp_path):
    """BPR-MF: the dataset only (no pretraining); VBPR: features from the visual stage, built
    once; ImgRec-EtE: the pretrained CNN; DVBPR (whole CNN trained): the dataset only."""
    lines = []

    def configs(model, **kw):
        return default_world.configs_for_default_world(
            registry.new_config(model, **kw), TrainConfig(), TINY, str(tmp_path),
            log=lines.append, visual_settings=BRIEF)

    model_config, train_config = configs("bprmf")
    world_root = os.path.dirname(train_config.dataset)
    assert train_config.dataset.endswith("dataset") and model_config == registry.new_config("bprmf")
    assert not [n for n in os.listdir(world_root) if n.startswith("visual")]
    model_config, _ = configs("dvbpr", trainable_backbone_layers=-1)
    assert not model_config.backbone_weights
    assert not [n for n in os.listdir(world_root) if n.startswith("visual")]

    model_config, train_config = configs("vbpr")
    features = np.load(model_config.features_file)
    assert features.shape == (load_dataset(train_config.dataset).num_items, default_world.VisualSettings.fc_width)
    assert np.isfinite(features).all() and features.std() > 0
    assert any("pretraining a CNN-F" in line for line in lines)
    lines.clear()
    model_config, _ = configs("imgrec_ete", trainable_backbone_layers=3, stage1_epochs=5)
    assert any("features" in line and "reused" in line for line in lines)
    assert model_config.backbone_weights.endswith("pretrained")
    assert os.listdir(os.path.join(model_config.backbone_weights, "best"))
    assert model_config.image_size == default_world.VisualSettings.image_size
    _, train_config = configs("attributes")
    assert train_config.dataset.endswith("catalogue")
    with open(os.path.join(os.path.dirname(model_config.backbone_weights), "features.json")) as f:
        assert json.load(f)["weights"] == model_config.backbone_weights   # not the temporary folder

    model_config, _ = configs("saers_fixed")   # the SAERS family: the classifier's regions too
    dataset = load_dataset(world_root + "/dataset")
    regions = read_regions(model_config.regions_file, dataset.num_items)
    assert os.path.dirname(model_config.regions_file) == os.path.dirname(model_config.features_file)
    assert regions.features.shape[:2] == (dataset.num_items, len(default_world.LABEL_COLUMNS))
    classifier = region_features.load_region_classifier(dataset, regions_file=model_config.regions_file)
    assert classifier.attribute_names == regions.names   # found through the stage's features.json

    with open(features_file := configs("vbpr")[0].features_file, "r+b") as f:   # a damaged stage
        f.truncate(100)
    lines.clear()
    assert np.load(configs("vbpr")[0].features_file).shape == features.shape
    assert any("pretraining a CNN-F" in line for line in lines), lines
    assert os.path.getsize(features_file) > 100


def test_outfit_models_get_the_outfit_world(tmp_path):
    """PAN and FHN train on outfits: the synthetic outfit world, built once (no style world)."""
    lines = []
    for model in ("pan", "fhn"):
        _, train_config = default_world.configs_for_default_world(
            registry.new_config(model), TrainConfig(), TINY, str(tmp_path), log=lines.append)
        assert os.path.basename(os.path.dirname(train_config.dataset)).startswith("outfit-world-")
        assert len(load_outfits(load_dataset(train_config.dataset)).split("train")) > 0
    assert "drew the synthetic outfit world" in lines[0] and "reused" in lines[1], lines
    assert not [n for n in os.listdir(tmp_path) if n.startswith("style-world")]
    with pytest.raises(DataError, match="photos"):   # PAN's backbone trained end to end needs them
        default_world.configs_for_default_world(registry.new_config("pan", backbone_training="end_to_end"),
                                                TrainConfig(), TINY, str(tmp_path), log=lines.append)


def test_train_without_dataset_uses_the_default_world(tmp_path):
    cache, model_dir = str(tmp_path / "cache"), str(tmp_path / "run")
    command = [sys.executable, "-m", "tfvisrec.train", "--flagfile=configs/poprank.cfg",
               f"--default_world_cache={cache}", "--default_world_users=40", "--default_world_items=60",
               f"--model_dir={model_dir}"]
    run = subprocess.run(command, cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "default dataset: built" in run.stdout and cache in run.stdout, run.stdout
    assert "trained poprank" in run.stdout
    with open(os.path.join(model_dir, "summary.json")) as f:
        assert json.load(f)["dataset"].startswith(cache)


BAD_SETTINGS = {
    "--epochs=0": "--epochs must be at least 1, got 0",
    "--strategy=mirorred": "--strategy must be one of default, mirrored, multi_worker, got 'mirorred'",
    "--optimizer=adamw": "--optimizer must be one of adam, sgd, adagrad, rmsprop, got 'adamw'",
    # were 'num_users must be >= 1 (got 0)', after the cache's lock file and the drawing's announcement
    "--default_world_users=0": "--default_world_users must be at least 1, got 0",
    "--default_world_items=5": "--default_world_items must be at least 12, got 5",
}


def test_every_bad_setting_is_named_in_one_line_before_the_default_world_is_built(tmp_path):
    """One line naming every mistake (the world's settings were named only once the training
    settings were right: two runs to find two mistakes)."""
    cache = str(tmp_path / "cache")
    command = [sys.executable, "-m", "tfvisrec.train", "--flagfile=configs/vbpr.cfg", *BAD_SETTINGS,
               f"--default_world_cache={cache}", f"--model_dir={tmp_path / 'run'}"]
    run = subprocess.run(command, cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                         capture_output=True, text=True, timeout=300)
    assert (run.returncode, run.stderr.strip().splitlines()[-1]) == (2, "error: " + "; ".join(BAD_SETTINGS.values()))
    assert "default dataset" not in run.stdout
    assert not os.path.exists(cache) and not os.path.exists(tmp_path / "run")


def test_the_cost_note_describes_the_run_as_configured():
    """A CNN model's note on the default world: purchases or batches per epoch as the flags set
    them, "no early stopping" for patience 0, the GAN's epochs over photos, DVBPR's estimate."""
    world = default_world.World("/nowhere", {"train_interactions": 5428})
    dvbpr = registry.new_config("dvbpr", image_size=64, num_negatives=1)
    note = default_world._cnn_cost_note(dvbpr, dataclasses.replace(TrainConfig(), epochs=20, patience=3), world)
    assert "5428 training purchases per epoch" in note and "early stopping after 3" in note, note
    assert "75 s to 4 min per epoch, 25 min to 79 min in all" in note, note   # 5428 / 72 s, / 23 s
    short = default_world._cnn_cost_note(dvbpr, dataclasses.replace(
        TrainConfig(), epochs=1, steps_per_epoch=5, batch_size=128, patience=0), world)
    assert "5 batches of 128 per epoch" in short and "no early stopping" in short, short
    assert "sized for real data" not in short and "9 s to 28 s per epoch" in short, short
    gan = default_world._cnn_cost_note(registry.new_config("gan", image_size=64), TrainConfig(), world,
                                       photos_only=True)
    assert "one pass over the catalogue's photos per epoch" in gan and "purchases" not in gan, gan


def test_the_cache_is_where_readme_and_the_help_say(tmp_path, monkeypatch):
    """default_cache_dir reads $XDG_CACHE_HOME before ~/.cache; README and the flags' help said
    '$TFVISREC_CACHE, else ~/.cache/tfvisrec', so with XDG_CACHE_HOME set (as on many desktops)
    the world was not where a newcomer looked for it."""
    from absl import flags
    monkeypatch.delenv("TFVISREC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cached_stages.default_cache_dir() == str(tmp_path / "xdg" / "tfvisrec")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cached_stages.default_cache_dir() == str(tmp_path / "home" / ".cache" / "tfvisrec")
    monkeypatch.setenv("TFVISREC_CACHE", str(tmp_path / "mine"))
    assert cached_stages.default_cache_dir() == str(tmp_path / "mine")
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as f:
        readme = " ".join(f.read().replace("`", "").split())
    assert cached_stages.CACHE_LOCATIONS in readme
    default_world.define_flags()
    assert cached_stages.CACHE_LOCATIONS in flags.FLAGS["default_world_cache"].help
