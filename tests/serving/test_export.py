"""Export: TF Serving layout, atomic versions, warmup file, models.config, fresh-process numbers."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf
from tensorflow_serving.config import model_server_config_pb2

import serving_world as world_lib
from temp_writers import killed_writer_folder, running_writer
from tfvisrec import export
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.serving import model_config, warmup
from tfvisrec.serving.loaded import LoadedVersion

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL_SIGNATURES = ["embed_items", "recommend", "score", "score_images", "serving_default"]


def test_versions_are_integers_written_atomically(world, tmp_path):
    dataset, models = world
    base = str(tmp_path / "mf")
    first = export.export_model(models["mf"], dataset, base, top_k=5)
    second = export.export_model(models["mf"], dataset, base, top_k=5)
    assert [os.path.basename(first), os.path.basename(second)] == ["1", "2"]
    assert export.export_model(models["mf"], dataset, base, version=7, top_k=5).endswith("/7")
    assert sorted(os.listdir(base)) == ["1", "2", "7"]  # no temp folder left behind
    with pytest.raises(DataError, match="exists already"):
        export.export_model(models["mf"], dataset, base, version=2, top_k=5)
    info = json.load(open(os.path.join(second, "assets.extra", export.EXPORT_INFO_FILE)))
    assert info["version"] == 2 and info["top_k"] == 5 and info["model_name"] == "mf"


def test_a_version_folder_has_the_mode_a_plain_folder_gets(world, tmp_path):
    # the version was built in a mkdtemp folder (0700): TF Serving running as another user than
    # the exporter could not read it
    dataset, models = world
    umask = os.umask(0o022)
    try:
        path = export.export_model(models["mf"], dataset, str(tmp_path / "mf"), top_k=5)
    finally:
        os.umask(umask)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o755)


def test_two_exports_at_once_get_two_versions(world, tmp_path, monkeypatch):
    # both number their version before either has written it; the second to finish found its
    # number taken ("[Errno 39] Directory not empty") and lost its work
    dataset, models = world
    base = tmp_path / "mf"
    save = tf.saved_model.save

    def save_while_another_export_ends(servable, path, **kwargs):
        save(servable, path, **kwargs)
        os.makedirs(base / "1" / "variables", exist_ok=True)   # the other export's version 1

    monkeypatch.setattr(tf.saved_model, "save", save_while_another_export_ends)
    path = export.export_model(models["mf"], dataset, str(base), top_k=5)
    assert os.path.basename(path) == "2" and sorted(os.listdir(base)) == ["1", "2"]
    info = json.load(open(os.path.join(path, "assets.extra", export.EXPORT_INFO_FILE)))
    assert info["version"] == 2
    monkeypatch.setattr(tf.saved_model, "save", lambda servable, path, **kwargs: (
        save(servable, path, **kwargs), os.makedirs(base / "9" / "variables")))
    with pytest.raises(DataError, match="9: this version was written meanwhile by another export; choose another --version"):
        export.export_model(models["mf"], dataset, str(base), version=9, top_k=5)
    assert sorted(os.listdir(base)) == ["1", "2", "9"] and os.listdir(base / "9") == ["variables"]


def test_an_export_removes_the_folder_a_killed_export_left_but_not_a_running_ones(world, tmp_path):
    dataset, models = world
    base = tmp_path / "mf"
    base.mkdir()
    killed = killed_writer_folder(base, ".tmp-1-")   # `python -m tfvisrec.export` killed while saving
    with running_writer(base, ".tmp-1-") as running:   # an export into the same base, saving
        export.export_model(models["mf"], dataset, str(base), top_k=5)
        assert sorted(os.listdir(base)) == sorted([os.path.basename(running), "1"])
    assert not os.path.exists(killed)


def test_failed_export_leaves_no_version(world, tmp_path, monkeypatch):
    dataset, models = world
    base = str(tmp_path / "mf")

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export.export_model(models["mf"], dataset, base, top_k=5)
    assert not os.path.exists(base)   # nor the folder it made for the version
    os.makedirs(base)
    with pytest.raises(OSError, match="disk full"):
        export.export_model(models["mf"], dataset, base, top_k=5)
    assert os.listdir(base) == []      # a folder that was there stays


def test_a_full_disk_is_one_error_line_naming_the_version(world, tmp_path, monkeypatch):
    dataset, models = world
    base = str(tmp_path / "mf")

    def full_disk(servable, path, **kwargs):   # what TF's SaveV2 raises, its shard half-written
        raise tf.errors.ResourceExhaustedError(
            None, None, "{{function_node __wrapped__SaveV2_dtypes_8}} " + path + "/variables/variables_temp/"
            "part-00000-of-00001.data-00000-of-00001.tempstate1; No space left on device [Op:SaveV2]")

    monkeypatch.setattr(tf.saved_model, "save", full_disk)
    with pytest.raises(OSError) as raised:
        export.export_model(models["mf"], dataset, base, top_k=5)
    assert str(raised.value) == f"cannot write the export {base}/1 (No space left on device)"
    assert not os.path.exists(base)


def test_a_cut_short_image_shard_is_named_and_nothing_is_written(world, tmp_path):
    dataset, models = world
    damaged = str(tmp_path / "dataset")
    shutil.copytree(dataset.path, damaged)
    shard = load_dataset(damaged).image_shards()[0]
    with open(shard, "rb") as f:
        data = f.read()
    with open(shard, "wb") as f:
        f.write(data[:len(data) // 2])
    base = str(tmp_path / "export" / "visual")
    with pytest.raises(DataError, match=r"image shard cut short or damaged; the dataset is damaged: ingest it again") as err:
        export.export_model(models["visual"], load_dataset(damaged), base, top_k=5)
    assert shard in str(err.value)
    assert not os.path.exists(base)   # no empty model folder left for a server to poll


def test_warmup_has_one_replayable_request_per_signature(export_root):
    path = os.path.join(export_root, "visual", "1")
    records = list(warmup.read_warmup(path))
    assert sorted(r.predict_log.request.model_spec.signature_name for r in records) == ALL_SIGNATURES
    assert {r.predict_log.request.model_spec.name for r in records} == {"visual"}
    for record in records:  # every input has a batch dimension of 1
        for tensor in record.predict_log.request.inputs.values():
            assert tensor.tensor_shape.dim[0].size == 1
    assert LoadedVersion("visual", 1, path).warmup() == len(ALL_SIGNATURES)


def test_models_config_entries(export_root, tmp_path):
    config = model_config.load(os.path.join(export_root, "models.config"))
    entries = {c.name: c for c in config.model_config_list.config}
    assert sorted(entries) == ["mf", "mlp", "visual"]
    assert entries["visual"].base_path == "/models/visual"
    assert entries["visual"].model_platform == "tensorflow"
    assert entries["visual"].model_version_policy.latest.num_versions == 1
    path = str(tmp_path / "models.config")
    model_config.upsert(path, model_config.model_entry("a", "/models/a"))
    model_config.upsert(path, model_config.model_entry("b", "/models/b"))
    model_config.upsert(path, model_config.model_entry("a", "/models/a2"))
    parsed = model_server_config_pb2.ModelServerConfig()
    from google.protobuf import text_format
    text_format.Parse(open(path).read(), parsed)
    assert [(c.name, c.base_path) for c in parsed.model_config_list.config] == [
        ("b", "/models/b"), ("a", "/models/a2")]
    with pytest.raises(DataError, match="models.config"):
        model_config.parse("model_config_list { config { name: 'x' } }", path)


def test_saved_model_cli_lists_signatures(export_root):
    out = subprocess.run(["saved_model_cli", "show", "--all", "--dir",
                          os.path.join(export_root, "visual", "1")],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    for name in ALL_SIGNATURES:
        assert f"signature_def['{name}']" in out
    assert "inputs['user'] tensor_info:" in out and "shape: (-1, -1)" in out
    assert "outputs['item_ids'] tensor_info:" in out and "DT_STRING" in out


_FRESH_PROCESS = r"""
import sys, numpy as np
import tfvisrec, tensorflow as tf
path, jpegs_file, out = sys.argv[1:]
jpegs = list(np.load(jpegs_file, allow_pickle=True))
sig = tf.saved_model.load(path).signatures
rec = sig["recommend"](user=tf.constant(["u00", "u07"]), k=tf.constant([10, 10]))
score = sig["score"](user=tf.constant(["u03"]), items=tf.constant([["item-004", "item-020", "item-011"]]))
cold = sig["score_images"](user=tf.constant(["u05"]), images=tf.constant([jpegs]))
np.savez(out, ids=rec["item_ids"].numpy().astype(str), rec=rec["scores"].numpy(),
         score=score["scores"].numpy(), cold=cold["scores"].numpy())
"""


def test_fresh_process_gives_the_in_memory_numbers(world, export_root, tmp_path):
    dataset, models = world
    model = models["visual"]
    jpegs = [world_lib.jpeg(200 + i, seed=9) for i in range(2)]
    np.save(tmp_path / "jpegs.npy", np.array(jpegs, object), allow_pickle=True)
    script = tmp_path / "fresh.py"
    script.write_text(_FRESH_PROCESS)
    subprocess.run([sys.executable, str(script), os.path.join(export_root, "visual", "1"),
                    str(tmp_path / "jpegs.npy"), str(tmp_path / "out.npz")],
                   check=True, timeout=300, cwd=REPO, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", "")))
    got = np.load(tmp_path / "out.npz")
    scores = world_lib.reference_scores(model, dataset)
    assert got["ids"].shape == (2, 10)
    for ids, rec, row in zip(got["ids"], got["rec"], world_lib.masked_scores(scores, dataset, [0, 7])):
        world_lib.assert_top_k_matches(ids, rec, row, dataset.item_ids)
    np.testing.assert_allclose(got["score"], [scores[3, [4, 20, 11]]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["cold"][0], world_lib.reference_image_scores(model, 5, jpegs),
                               rtol=1e-5, atol=1e-5)


def test_export_cli_plumbing(world, tmp_path, monkeypatch, capsys):
    from absl import flags
    from tfvisrec.training import checkpoints
    dataset, models = world
    calls = []

    def load_trained(model_dir, which="best", dataset_dir=None):
        calls.append((model_dir, which, dataset_dir))
        return models["mf"], dataset

    monkeypatch.setattr(checkpoints, "load_trained", load_trained)
    export.define_flags()
    base = tmp_path / "export" / "shop"
    flags.FLAGS(["export", "--model_dir=runs/mf", "--which=latest", f"--export_base={base}",
                 "--top_k=4", "--version=3"])
    try:
        assert export.main([]) == 0
    finally:
        flags.FLAGS.unparse_flags()
    assert calls == [("runs/mf", "latest", None)]
    assert capsys.readouterr().out.strip() == str(base / "3")
    config = model_config.load(str(tmp_path / "export" / "models.config"))
    assert [(c.name, c.base_path) for c in config.model_config_list.config] == [("shop", "/models/shop")]


def test_exporting_a_run_that_never_validated_says_it_exports_the_latest_checkpoint(low_rank_dataset, tmp_path, capsys):
    # a training killed (or still running) before its first epoch ended has no best checkpoint
    from absl import flags
    from tfvisrec.config import TrainConfig
    from tfvisrec.models import registry
    from tfvisrec.training import fit
    run = str(tmp_path / "run")
    fit(registry.new_config("bprmf", embedding_dim=4),
        TrainConfig(dataset=low_rank_dataset, model_dir=run, batch_size=32, max_steps=5, verbose=0))
    export.define_flags()
    base = tmp_path / "export" / "shop"
    flags.FLAGS(["export", f"--model_dir={run}", f"--export_base={base}", "--models_config=none"])
    try:
        assert export.main([]) == 0
    finally:
        flags.FLAGS.unparse_flags()
    captured = capsys.readouterr()
    assert captured.out.strip() == str(base / "1")
    assert (f"warning: {run} has no best checkpoint (it never validated: stopped before its first epoch "
            "ended, or still training); exporting its latest one") in captured.err


@pytest.mark.parametrize("flag, message", [
    ("--top_k=0", "--top_k must be at least 1, got 0"), ("--version=-1", "--version must be 0"),
    ("--which=nonsense", "--which must be best or latest"), ("--export_batch_size=0", "--export_batch_size must be"),
    ("--models_config=/nonexistent/dir/models.config", "--models_config /nonexistent/dir/models.config: its folder does not exist")])
def test_export_cli_refuses_bad_settings_before_creating_anything(tmp_path, monkeypatch, capsys, flag, message):
    from absl import flags
    from tfvisrec.training import checkpoints
    monkeypatch.setattr(checkpoints, "load_trained", lambda *a, **k: pytest.fail("loaded a model"))
    export.define_flags()
    flags.FLAGS(["export", "--model_dir=runs/mf", f"--export_base={tmp_path / 'export' / 'shop'}", flag])
    try:
        assert export.main([]) == 2
    finally:
        flags.FLAGS.unparse_flags()
    assert f"error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "export").exists()


def test_export_model_refuses_a_bad_k_or_version_before_creating_the_folder(world, tmp_path):
    dataset, models = world
    for settings in ({"top_k": 0}, {"version": -2}):
        with pytest.raises(ValueError, match="top_k|version"):
            export.export_model(models["mf"], dataset, str(tmp_path / "shop"), **settings)
        assert not (tmp_path / "shop").exists()


@pytest.mark.parametrize("command, message", [
    (["tfvisrec.export", "--model_dir=runs/x"], "--model_dir and --export_base are required"),
    (["tfvisrec.export", "--dataset=data/d"], "--model_dir and --export_base are required"),  # --dataset_dir's other name
    (["tfvisrec.server"], "pass exactly one of --model_config_file and --model_base_path"),
])
def test_a_missing_flag_prints_the_usage_then_the_message(command, message):
    """README: bad use (a missing or contradictory flag) prints the command's usage, then the
    message, and exits 2."""
    done = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2
    assert f"python -m {command[0]}" in done.stderr and done.stderr.rstrip().endswith(message), done.stderr
