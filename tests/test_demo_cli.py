"""`python -m tfvisrec.demo` end to end on a tiny world (40 users, 60 items): the world and its
visual stage, a collaborative, a SAERS and a photo model trained with their flagfiles,
the table beside the oracle, the export served and called over gRPC; models the table cannot
hold are refused before anything is built."""
import json
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_WORLD = ["--num_users=40", "--num_items=60", "--seed=3"]


def _demo(tmp_path, *flags):
    command = [sys.executable, "-m", "tfvisrec.demo", *TINY_WORLD, f"--cache_dir={tmp_path / 'cache'}",
               f"--work_dir={tmp_path / 'work'}", *flags]
    return subprocess.run(command, cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                          capture_output=True, text=True, timeout=600)


def test_the_demo_trains_evaluates_and_serves(tmp_path):
    run = _demo(tmp_path, "--models=poprank,saers_fixed,dvbpr", "--new_items=2")
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "training saers_fixed (2/3)" in out and "features f_i and Grad-AAM attribute regions" in out, out
    with open(tmp_path / "work" / "results.json") as f:
        results = json.load(f)
    assert set(results) == {"oracle (true utility)", "poprank", "saers_fixed", "dvbpr"}
    for metrics in results.values():
        assert 0.0 <= metrics["full_auc/auc"] <= 1.0 and "sampled_100/hr@10" in metrics
    assert results["oracle (true utility)"]["full_auc/auc"] > results["poprank"]["full_auc/auc"]
    assert "served top-5 equals the model's own top-5" in out, out
    assert "exported dvbpr" in out and os.listdir(tmp_path / "work" / "export" / "dvbpr")


def test_without_dvbpr_the_best_model_is_served_even_when_not_trained_by_gradient(tmp_path):
    """--serve's help says 'Export DVBPR (else the best model)': with --models=random,poprank
    the demo served nothing, silently (only models trained by gradient were candidates), though
    both export and serve."""
    run = _demo(tmp_path, "--models=random,poprank", "--protocols=full_auc")
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "exported poprank" in out and "served top-5 equals the model's own top-5" in out, out
    assert os.listdir(tmp_path / "work" / "export" / "poprank")


@pytest.mark.parametrize("model, refusal", [("pan", "scores outfits"), ("gan", "generates garment images"),
                                            ("attributes", "classifies photos"),
                                            ("bprfm", "unknown model 'bprfm'; registered models: .*bprmf")])
def test_models_the_table_cannot_hold_are_named(model, refusal):
    from tfvisrec import demo_models
    with pytest.raises(ValueError, match=refusal):
        demo_models.check_models(["poprank", model], os.path.join(REPO_ROOT, "configs"))
    demo_models.check_models(["poprank", "vbpr", "saers", "dvbpr"], os.path.join(REPO_ROOT, "configs"))


def test_no_models_or_no_flagfile_is_named(tmp_path):
    from tfvisrec import demo_models
    with pytest.raises(ValueError, match="--models names no model"):
        demo_models.check_models([], os.path.join(REPO_ROOT, "configs"))
    with pytest.raises(ValueError, match=f"no flagfile {tmp_path}/poprank.cfg for model 'poprank'"):
        demo_models.check_models(["poprank"], str(tmp_path))


@pytest.mark.parametrize("protocols, refusal", [
    (["full_auc", "top10"], "unknown evaluation protocol 'top10'; known: full_auc"),
    (["full_auc", "outfits"], "--protocols: outfits evaluates outfit models, and the demo's world has no outfits"),
    (["sampled_100"], "--protocols must include full_auc .*, got sampled_100"),
])
def test_protocols_the_table_cannot_show_are_named(protocols, refusal):
    """They were found only after every model trained: a traceback (an unknown name, outfits) or
    a KeyError choosing the model to serve (no full_auc)."""
    from tfvisrec import demo_models
    with pytest.raises(ValueError, match=refusal):
        demo_models.check_protocols(protocols)
    demo_models.check_protocols(["full_auc", "sampled_100", "sampled_7"])


def test_every_refused_setting_is_named_in_one_line_before_any_work(tmp_path):
    """A model the table cannot hold, an unknown protocol and out-of-range numbers: one line
    naming them all (they were named one per run), status 2, no traceback, nothing built."""
    run = _demo(tmp_path, "--models=poprank,pan", "--protocols=full_auc,top10", "--num_users=0", "--num_items=5",
                "--new_items=-1")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    line = run.stderr.strip().splitlines()[-1]
    for message in ["error: pan scores outfits", "; unknown evaluation protocol 'top10'",
                    # was 'num_users must be >= 1 (got 0)', after the cache's lock file and the drawing's announcement
                    "; --num_users must be at least 1, got 0; --num_items must be at least 12, got 5",
                    "; --new_items must be at least 0 (0: none scored), got -1"]:   # -1 was taken as 0
        assert message in line, line
    assert not os.path.exists(tmp_path / "cache") and not os.path.exists(tmp_path / "work")


def _version(base, number, complete=True):
    folder = base / str(number)
    folder.mkdir(parents=True)
    if complete:
        (folder / "saved_model.pb").write_bytes(b"")
    return str(folder)


def test_a_rerun_serves_the_version_it_exported_when_the_model_is_unchanged(tmp_path):
    from tfvisrec.demo_serving import version_to_reuse
    base = tmp_path / "export" / "dvbpr"
    assert version_to_reuse(str(base), None, "abc") is None   # never exported
    first = _version(base, 1)
    record = {"fingerprint": "abc", "version": 1}
    assert version_to_reuse(str(base), record, "abc") == first
    assert version_to_reuse(str(base), record, "retrained") is None
    assert version_to_reuse(str(base), None, "abc") is None   # the record lost: export anew
    _version(base, 2)   # exported since by someone else: the server serves that one
    assert version_to_reuse(str(base), record, "abc") is None


def test_a_removed_or_incomplete_version_is_exported_again(tmp_path):
    from tfvisrec.demo_serving import version_to_reuse
    base = tmp_path / "export" / "dvbpr"
    _version(base, 3, complete=False)
    assert version_to_reuse(str(base), {"fingerprint": "abc", "version": 3}, "abc") is None
    assert version_to_reuse(str(base), {"fingerprint": "abc", "version": 4}, "abc") is None


def test_the_export_fingerprint_follows_the_weights_the_data_and_top_k(low_rank_dataset):
    import tensorflow as tf
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.demo_serving import export_fingerprint

    class Weights:
        weights = [tf.Variable([[1.0, 2.0]]), tf.Variable([3], dtype=tf.int64)]

    model, dataset = Weights(), load_dataset(low_rank_dataset)
    same = export_fingerprint(model, dataset, 10)
    assert export_fingerprint(model, dataset, 10) == same
    assert export_fingerprint(model, dataset, 20) != same
    model.weights[0].assign([[1.0, 2.5]])
    assert export_fingerprint(model, dataset, 10) != same
