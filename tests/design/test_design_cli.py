"""`python -m tfvisrec.design`: the design sheet and the tailoring strip from saved runs of a
`gan` and a `dvbpr` (untrained weights: the command is under test, not the models)."""
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver

from tfvisrec.config import TrainConfig
from tfvisrec.data.dataset import load_dataset
from tfvisrec.design import __main__ as design_cli
from tfvisrec.design.sheets import DISPLAY_SIZE
from tfvisrec.models import registry
from tfvisrec.training import building, checkpoints


def _save_run(model_dir, model_config, dataset_dir):
    model = building.build_model(model_config, load_dataset(dataset_dir))
    checkpoints.save_configs(str(model_dir), model_config, TrainConfig(dataset=dataset_dir, model_dir=str(model_dir)))
    tf.train.Checkpoint(model=model).save(os.path.join(model_dir, checkpoints.BEST_DIR, "ckpt"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from tiny_worlds import draw_garment, write_category_image_dataset
    root = tmp_path_factory.mktemp("design")
    data = write_category_image_dataset(str(root / "world"), size=16)
    _save_run(root / "gan", registry.new_config("gan", image_size=16, gan_width=8, latent_dim=8), data)
    _save_run(root / "dvbpr", registry.new_config("dvbpr", image_size=32, fc_width=8, visual_dim=4,
                                                  dropout=0.0, init_stddev=1.0), data)
    query = root / "query.jpg"
    query.write_bytes(draw_garment("bag", np.random.default_rng(1), 16))
    return root, query


def _main(root, *args):
    # --k given: in a process that imported `tfvisrec.interactive` first, its --k (default 10) is the one defined
    with flagsaver.flagsaver():
        flags.FLAGS(["design", f"--gan_dir={root / 'gan'}", f"--dvbpr_dir={root / 'dvbpr'}",
                     "--restarts=4", "--steps=10", "--record_every=5", "--k=3", *args])
        return design_cli.main(["design"])


def test_sheet_shows_real_and_generated_rows_with_scores(runs, tmp_path, capsys):
    root, _ = runs
    out = tmp_path / "sheet.png"
    assert _main(root, "--user=u002", "--category=trousers", f"--out={out}", "--k=2") == 0
    printed = capsys.readouterr().out
    assert len(re.findall(r"real +i\d+ +score", printed)) == 2
    assert len(re.findall(r"generated +score", printed)) == 2
    with Image.open(out) as png:
        width, height = png.size
    assert width > 2 * DISPLAY_SIZE and height > 2 * DISPLAY_SIZE
    assert os.listdir(tmp_path) == ["sheet.png"]                 # nothing half-written left


def test_tailoring_strip(runs, tmp_path, capsys):
    root, query = runs
    out = tmp_path / "strip.png"
    assert _main(root, "--user=u000", "--category=bag", f"--out={out}", f"--tailor={query}") == 0
    printed = capsys.readouterr().out
    assert len(re.findall(r"^  fit +\d+ +score", printed, re.M)) == 2
    assert len(re.findall(r"^  pref +\d+ +score", printed, re.M)) == 2
    with Image.open(out) as png:
        assert png.size[0] > 5 * DISPLAY_SIZE                  # query + 4 steps in one strip


@pytest.mark.parametrize("args, message", [
    (("--user=nobody", "--category=bag"), "unknown user 'nobody'"),
    (("--user=u000", "--category=hats"), "unknown category 'hats'"),
    (("--user=u000", "--category=bag", "--tailor=/nonexistent.jpg"), "/nonexistent.jpg: no such image file"),
    (("--user=u000", "--category=bag", "--tailor=NOT_AN_IMAGE"), "notes.txt: not a JPEG or PNG file"),
    # was 'cannot read the image to tailor: Is a directory', and 'cannot decode the image …'
    (("--user=u000", "--category=bag", "--tailor=FOLDER"), "folder.jpg: is a folder, not an image file: give one JPEG or PNG photo"),
    (("--user=u000", "--category=bag", "--tailor=EMPTY"), "empty.jpg: is empty (0 bytes), not a JPEG or PNG photo"),
])
def test_bad_input_is_named(runs, tmp_path, capsys, args, message):
    root, _ = runs
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "folder.jpg").mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    places = {"NOT_AN_IMAGE": "notes.txt", "FOLDER": "folder.jpg", "EMPTY": "empty.jpg"}
    for word, name in places.items():
        args = [a.replace(word, str(tmp_path / name)) for a in args]
    assert _main(root, *args, f"--out={tmp_path / 'x.png'}") == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(os.listdir(tmp_path)) == sorted(places.values())


def test_a_recommender_that_does_not_score_images_is_named(runs, tmp_path, capsys):
    """A bprmf run as --dvbpr_dir (of another dataset) was refused as 'unknown category 'bag'
    (known: )', naming its dataset; of the gan's dataset, as needing a DVBPR without naming the
    flag. Now the flag, the folder and the model."""
    from tiny_worlds import write_low_rank_dataset
    root, _ = runs
    _save_run(tmp_path / "bprmf", registry.new_config("bprmf", embedding_dim=2),
              write_low_rank_dataset(str(tmp_path / "data"), num_users=8, num_items=10, per_user=3))
    for model_dir in (tmp_path / "bprmf", root / "gan"):
        assert _main(root, "--user=u000", "--category=bag", f"--dvbpr_dir={model_dir}", f"--out={tmp_path / 'x.png'}") == 2
        name = "bprmf" if model_dir.name == "bprmf" else "gan"
        assert capsys.readouterr().err.strip() == (
            f"error: {model_dir}: --dvbpr_dir holds a '{name}' model, which does not score an item from its image "
            "alone: give a dvbpr run trained on the gan's dataset")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, message", [
    (("--design_learning_rate=0",), r"--design_learning_rate must be a positive number, got 0.0"),
    (("--design_learning_rate=nan",), r"--design_learning_rate must be a positive number, got nan"),
    (("--eta=nan",), r"--eta must be a number ≥ 0, got nan"),
    (("--eta=-1",), r"--eta must be a number ≥ 0, got -1.0"),
    (("--sample", "--temperature=0"), r"--temperature must be a positive number with --sample, got 0.0"),
])
def test_out_of_range_settings_are_named_before_the_runs_load(runs, tmp_path, args, message):
    """A step size of 0 or nan wrote a sheet of unmoved random starts with exit status 0; eta and
    the temperature were refused only after both runs had loaded (and the sheet's first lines)."""
    from tfvisrec.config import UsageError
    root, _ = runs
    with pytest.raises(UsageError, match=message) as refused:
        _main(root, "--user=u000", "--category=bag", "--gan_dir=/no/such/run", *args, f"--out={tmp_path / 'x.png'}")
    assert refused.value.exitcode == 2 and os.listdir(tmp_path) == []


def test_out_must_be_a_png(runs, tmp_path):
    from tfvisrec.config import UsageError
    root, _ = runs
    with pytest.raises(UsageError, match="--out must name a .png file"):
        _main(root, "--user=u000", "--category=bag", f"--out={tmp_path / 'x.txt'}")


@pytest.mark.parametrize("error", [
    tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[100000,3,16,16]"),
    tf.errors.InvalidArgumentError(None, None, "Graph execution error:\nCannot parse tensor from proto: dtype: DT_FLOAT"),
])
def test_too_many_restarts_for_memory_is_one_line(runs, tmp_path, capsys, monkeypatch, error):
    from tfvisrec.design.preference import PreferenceMaximiser

    def out_of_memory(*args, **kwargs):
        raise error

    monkeypatch.setattr(PreferenceMaximiser, "design", out_of_memory)
    root, _ = runs
    assert _main(root, "--user=u000", "--category=bag", f"--out={tmp_path / 'x.png'}") == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: not enough memory to optimise 4 starts at once: use fewer --restarts"
    assert os.listdir(tmp_path) == []


def test_another_tensorflow_error_is_not_called_memory(runs, tmp_path, monkeypatch):
    from tfvisrec.design.preference import PreferenceMaximiser

    def bug(*args, **kwargs):
        raise tf.errors.InvalidArgumentError(None, None, "Incompatible shapes: [4,8] vs. [4,9]")

    monkeypatch.setattr(PreferenceMaximiser, "design", bug)
    root, _ = runs
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        _main(root, "--user=u000", "--category=bag", f"--out={tmp_path / 'x.png'}")


@pytest.mark.parametrize("damage", ["cut in half", "a marker made up"])
def test_a_damaged_photo_to_tailor_is_one_line_on_stderr_before_the_runs_load(tmp_path, capfd, monkeypatch, damage):
    """A cut JPEG had TensorFlow's libjpeg write 'Improper call to JPEG library in state 201' (a
    made-up marker: 'Unsupported marker type 0x78') straight to fd 2 above the error line, and
    was found only after both runs had loaded."""
    def load(*args, **kwargs):
        pytest.fail("a run was loaded before the photo was checked")

    monkeypatch.setattr(checkpoints, "load_trained", load)
    buffer = io.BytesIO()
    Image.new("RGB", (20, 14), (200, 30, 30)).save(buffer, format="JPEG", quality=90)
    jpeg = buffer.getvalue()
    photo = tmp_path / "bad.jpg"
    photo.write_bytes(jpeg[:len(jpeg) // 2] if damage == "cut in half" else b"\xff\xd8\xff" + b"x" * 100)
    assert _main(tmp_path, "--user=u000", "--category=bag", f"--tailor={photo}", f"--out={tmp_path / 'x.png'}") == 2
    assert capfd.readouterr().err == f"error: {photo}: cannot be decoded as an image: the file is cut short or damaged\n"
    assert os.listdir(tmp_path) == ["bad.jpg"]
