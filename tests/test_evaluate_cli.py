"""`python -m tfvisrec.evaluate` end to end on a model trained by the real loop."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import app, flags
from absl.testing import flagsaver

from tfvisrec import evaluate
from tfvisrec.config import TrainConfig
from tfvisrec.models import registry
from tfvisrec.evaluation import protocols

PROTOCOLS = "full_auc,sampled_10"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tiny_worlds import write_low_rank_dataset
    from tfvisrec.training import fit
    root = tmp_path_factory.mktemp("cli")
    dataset_dir = write_low_rank_dataset(str(root / "data"))
    model_dir = str(root / "model")
    model, _ = fit(registry.new_config("bprmf", embedding_dim=4),
                   dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=model_dir,
                                       epochs=2, batch_size=32, verbose=0))
    expected = protocols.evaluate(model, _load(dataset_dir), PROTOCOLS.split(","), trials=2)
    return model_dir, dataset_dir, expected


def _load(path):
    from tfvisrec.data.dataset import load_dataset
    return load_dataset(path)


def _main(*args):
    with flagsaver.flagsaver():
        flags.FLAGS(["evaluate", *args])
        return evaluate.main(["evaluate"])


def test_main_prints_and_writes_the_results_of_the_best_checkpoint(trained, tmp_path, capsys):
    model_dir, _, expected = trained
    output = str(tmp_path / "out" / "results.json")
    assert _main(f"--model_dir={model_dir}", f"--protocols={PROTOCOLS}", "--trials=2",
                 f"--output={output}") == 0
    with open(output) as f:
        written = json.load(f)
    assert written["results"] == pytest.approx(expected)
    assert written["model"] == "bprmf" and written["checkpoint"] == "best"
    # no temp file left; the lock of the file's read, merge and write stays (lock_file)
    assert sorted(os.listdir(tmp_path / "out")) == [".results.json.lock", "results.json"]
    printed = capsys.readouterr().out
    assert f"{expected['full_auc/auc']:.4f}" in printed and "sampled_10" in printed


def test_another_protocol_adds_its_results_to_the_file_of_the_same_checkpoint(trained, tmp_path, capsys):
    """A second evaluation with other --protocols replaced the first's results in the default
    file; now each protocol replaces only its own, while the file is of the same weights."""
    import shutil
    model_dir, _, expected = trained
    copy = str(tmp_path / "run")
    shutil.copytree(model_dir, copy)
    output = os.path.join(copy, "eval_test_best.json")

    def written():
        with open(output) as f:
            return json.load(f)

    assert _main(f"--model_dir={copy}", "--protocols=full_auc") == 0
    assert _main(f"--model_dir={copy}", "--protocols=sampled_10", "--trials=2") == 0
    assert "(kept the results of full_auc already there)" in capsys.readouterr().out
    both = written()
    assert both["results"] == pytest.approx(expected)
    assert both["protocols"] == ["full_auc", "sampled_10"]
    assert both["settings"]["sampled_10"] == {"seed": 0, "trials": 2}
    assert _main(f"--model_dir={copy}", "--protocols=sampled_10", "--trials=1", "--eval_seed=3") == 0
    again = written()
    assert {k: v for k, v in again["results"].items() if k.startswith("full_auc/")} == \
        {k: v for k, v in both["results"].items() if k.startswith("full_auc/")}
    assert again["settings"] == {"full_auc": {"seed": 0, "trials": 5}, "sampled_10": {"seed": 3, "trials": 1}}
    assert again["results"]["sampled_10/auc"] != both["results"]["sampled_10/auc"]   # other draws
    # the file of other weights (the run trained on since) is replaced whole
    with open(output, "w") as f:
        json.dump({**again, "checkpoint_sha256": "0" * 64}, f)
    assert _main(f"--model_dir={copy}", "--protocols=full_auc") == 0
    assert written()["protocols"] == ["full_auc"] and all(k.startswith("full_auc/") for k in written()["results"])


def test_subprocess_default_output(trained):
    model_dir, dataset_dir, _ = trained
    proc = subprocess.run([sys.executable, "-m", "tfvisrec.evaluate", f"--model_dir={model_dir}",
                           f"--dataset={dataset_dir}", "--split=valid", "--checkpoint=latest"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(os.path.join(model_dir, "eval_valid_latest.json")) as f:
        written = json.load(f)
    assert set(written["results"]) == {"full_auc/auc", "full_auc/auc_cold", "full_auc/auc_warm",
                                       "full_auc/num_users", "full_auc/num_cold_users"}
    assert written["results"]["full_auc/num_users"] == 60
    assert "full_auc" in proc.stdout


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    assert _main(f"--model_dir={tmp_path}") == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(app.UsageError, match="unknown evaluation protocol .*outfits"):
        _main(f"--model_dir={tmp_path}", "--protocols=full_auc,top_k")
    with pytest.raises(app.UsageError, match="model_dir"):
        _main("--model_dir=")   # explicit: a module imported earlier may give the flag a default
    (tmp_path / "afile").write_text("x")
    for output, problem in ((tmp_path / "afile" / "ev.json", "is a file, not a folder"), (tmp_path, "is a folder")):
        assert _main(f"--model_dir={tmp_path}", f"--output={output}") == 2
        assert problem in capsys.readouterr().err


def test_an_outfit_model_is_evaluated_on_outfits_and_refuses_item_protocols(tmp_path, capsys):
    """FHN scores outfits: the CLI's default protocol for it is `outfits`; an item protocol it
    asks for by name is one clear error (it was a shape traceback from deep in the model)."""
    from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
    from tfvisrec.training import fit
    world = make_outfit_world(OutfitWorldConfig(num_users=5, items_per_slot=8, outfits_per_user=5,
                                                valid_per_user=1, test_per_user=2, candidates=40))
    dataset_dir = write_outfit_world(world, str(tmp_path / "outfits"))
    model_dir = str(tmp_path / "fhn")
    fit(registry.new_config("fhn", code_dim=6),
        dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=model_dir, epochs=1, batch_size=8,
                            verbose=0))
    assert _main(f"--model_dir={model_dir}") == 0
    with open(os.path.join(model_dir, "eval_test_best.json")) as f:
        written = json.load(f)
    assert written["protocols"] == ["outfits"] and "outfits/binary/fitb/accuracy" in written["results"]
    capsys.readouterr()
    assert _main(f"--model_dir={model_dir}", "--protocols=outfits,full_auc") == 2
    assert "error: fhn scores outfits, not single items" in capsys.readouterr().err


def test_a_run_without_a_best_checkpoint_is_reported_as_its_latest(trained, tmp_path, capsys):
    import shutil
    model_dir, _, _ = trained
    copy = str(tmp_path / "run")
    shutil.copytree(model_dir, copy)
    shutil.rmtree(os.path.join(copy, "best"))   # as a run stopped before its first validation
    assert _main(f"--model_dir={copy}", "--protocols=full_auc") == 0
    assert "(latest checkpoint; the run has no best one)" in capsys.readouterr().out
    with open(os.path.join(copy, "eval_test_latest.json")) as f:
        assert json.load(f)["checkpoint"] == "latest"


def test_a_model_that_ranks_no_items_is_one_clear_error(tmp_path, capsys):
    """A gan run (untrained weights saved as the trainer saves them) was evaluated until its
    `score` raised TypeError: a traceback and exit status 1."""
    import tensorflow as tf
    from tiny_worlds import write_category_image_dataset
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.training import building, checkpoints
    dataset_dir = write_category_image_dataset(str(tmp_path / "world"), size=16)
    model_dir = str(tmp_path / "gan")
    config = registry.new_config("gan", image_size=16, gan_width=8, latent_dim=8)
    checkpoints.save_configs(model_dir, config, TrainConfig(dataset=dataset_dir, model_dir=model_dir))
    tf.train.Checkpoint(model=building.build_model(config, load_dataset(dataset_dir))).save(
        os.path.join(model_dir, checkpoints.BEST_DIR, "ckpt"))
    assert _main(f"--model_dir={model_dir}") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: gan ranks no items for shoppers: it generates garment images") and \
        len(err.strip().splitlines()) == 1, err
    assert not [name for name in os.listdir(model_dir) if name.startswith("eval_")]


def test_an_output_that_is_not_a_results_file_is_not_written_over(trained, tmp_path, capsys):
    """--output naming the run's config.json replaced it with the results (the run could no
    longer be loaded); a file of another kind is now refused before the evaluation."""
    import shutil
    model_dir, _, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(model_dir, copy)
    config = (copy / "config.json").read_bytes()
    (tmp_path / "notes.txt").write_text("my notes")
    for output in (copy / "config.json", tmp_path / "notes.txt"):
        before = output.read_bytes()
        assert _main(f"--model_dir={copy}", f"--output={output}") == 2
        err = capsys.readouterr().err
        assert err.strip() == (f"error: --output: {output} exists and is not the results of an evaluation "
                               '(no "results" and "protocols" in it), so it is not written over: give another file')
        assert output.read_bytes() == before
    assert (copy / "config.json").read_bytes() == config
    assert _main(f"--model_dir={copy}", f"--output={tmp_path / 'ev.json'}", "--protocols=full_auc") == 0
    assert _main(f"--model_dir={copy}", f"--output={tmp_path / 'ev.json'}", "--protocols=full_auc") == 0  # its own
