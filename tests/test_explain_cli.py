"""`python -m tfvisrec.explain` on a tiny trained saers_fixed run (tests/explain_world.py): the
record against a numpy reference of SAERS eq. 5-8, the regions of a photo against the stored
ones, the picture, and the errors."""
import io
import json
import os
import shutil

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags
from absl.testing import flagsaver
from PIL import Image

from tfvisrec import explain as explain_cli
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.region_file import read_regions, regions_path
from tfvisrec.training import checkpoints

pytestmark = pytest.mark.xdist_group("explain")


def _main(*args):
    with flagsaver.flagsaver():
        flags.FLAGS([explain_cli.__name__, *args])
        return explain_cli.main([explain_cli.__name__])


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-6)


def reference(model, dataset, user: int, item: int):
    """(α [A] of eq. 5-6, x̂ of eq. 7-8) in numpy from the model's variables and the stored regions."""
    regions = read_regions(regions_path(dataset), dataset.num_items)
    f_u = model.scaled_user_preferences.numpy()[user]
    E = model.projections.matrices.numpy()                                  # [A, C, d]
    e = np.einsum("ac,acd->ad", _unit(regions.features[item]), E)           # E^k f_a^k(i)
    attention = model.attention
    hidden = np.maximum(f_u @ attention.user_kernel.numpy() + e @ attention.attribute_kernel.numpy()
                        + attention.hidden_bias.numpy(), 0.0)
    beta = hidden @ attention.output_vector.numpy()
    alpha = np.exp(beta - beta.max()) / np.exp(beta - beta.max()).sum()
    f_i = _unit(np.load(os.path.join(dataset.path, "features.npy"))[item])
    score = alpha @ (e @ f_u) + f_u @ (model.global_projection.numpy().T @ f_i)
    return alpha, score


@pytest.fixture(scope="module")
def trained(explain_run):
    return checkpoints.load_trained(explain_run.model_dir)


def test_catalogue_item_record_and_picture(explain_run, trained, tmp_path, capsys):
    model, dataset = trained
    out = str(tmp_path / "why.png")
    assert _main(f"--model_dir={explain_run.model_dir}", "--user=u03", "--item=item-007", f"--out={out}") == 0
    assert "wrote" in capsys.readouterr().out
    with open(tmp_path / "why.json") as f:
        record = json.load(f)
    regions = read_regions(regions_path(dataset), dataset.num_items)
    alpha, score = reference(model, dataset, dataset.user_ids.index("u03"), 7)
    np.testing.assert_allclose(record["weights"], alpha, rtol=1e-4, atol=1e-6)
    assert record["score"] == pytest.approx(score, rel=1e-4, abs=1e-6)
    assert record["top_attribute"] == regions.names[int(np.argmax(alpha))]
    assert record["attributes"] == regions.names
    assert record["classes"] == [regions.values[a][c] for a, c in enumerate(regions.classes[7])]
    np.testing.assert_allclose(record["boxes"], regions.boxes[7])
    np.testing.assert_allclose(record["class_probabilities"], regions.class_probabilities[7])
    assert (record["user"], record["item"], record["image"], record["model"]) == ("u03", "item-007", None, "saers_fixed")
    with Image.open(out) as png:
        assert png.format == "PNG" and png.size[0] > png.size[1] > 300
    assert sorted(os.listdir(tmp_path)) == ["why.json", "why.png"]        # no temporary file left


def test_a_photo_gets_the_regions_the_catalogue_stored(explain_run, trained, tmp_path):
    """--image on an item's own JPEG: the Semantic Extraction Network (found through the
    dataset's features.json) recomputes the stored regions, so the attention is the numpy
    reference's on the stored ones; saers_fixed has no fixed feature f_i for a new photo,
    hence no score."""
    model, dataset = trained
    photo = tmp_path / "new.jpg"
    photo.write_bytes(dataset.image_bytes()[12])
    assert _main(f"--model_dir={explain_run.model_dir}", "--user=u05", f"--image={photo}",
                 f"--out={tmp_path / 'photo.png'}") == 0
    record = json.loads((tmp_path / "photo.json").read_text())
    regions = read_regions(regions_path(dataset), dataset.num_items)
    alpha, _ = reference(model, dataset, dataset.user_ids.index("u05"), 12)
    np.testing.assert_allclose(record["weights"], alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(record["boxes"], regions.boxes[12], atol=1e-6)
    assert record["classes"] == [regions.values[a][c] for a, c in enumerate(regions.classes[12])]
    np.testing.assert_allclose(record["class_probabilities"], regions.class_probabilities[12], rtol=1e-4, atol=1e-6)
    assert record["image"] == str(photo) and record["item"] is None and record["score"] is None


@pytest.mark.parametrize("args, message", [
    (["--user=nobody", "--item=item-001"], "unknown user 'nobody'"),
    (["--user=u01", "--item=item-1"], "unknown item 'item-1'; closest: item-0"),
    (["--user=u01", "--image=/no/such.jpg"], "/no/such.jpg: no such image file"),
    (["--user=u01", "--image=PHOTO", "--backbone_weights=/no/classifier"], "/no/classifier: no attribute classifier there"),
    (["--user=u01", "--item=item-001", "--out=why.jpg"], "--out must name a .png file"),
    (["--user=u01", "--image=CUT"], "cannot be decoded as an image: the file is cut short or damaged"),
    (["--user=u01", "--image=FOLDER"], "FOLDER: is a folder, not an image file: give one JPEG or PNG photo"),
    (["--user=u01", "--image=EMPTY"], "EMPTY: is empty (0 bytes), not a JPEG or PNG photo"),
    (["--user=u01", "--item=item-001", "--out=BLOCKED/why.png"], "--out: cannot write"),   # before the model loads
])
def test_bad_requests_name_what_is_wrong(explain_run, tmp_path, capsys, args, message):
    jpeg = load_dataset(explain_run.dataset_dir).image_bytes()[0]
    (tmp_path / "photo.jpg").write_bytes(jpeg)
    (tmp_path / "cut.jpg").write_bytes(jpeg[:len(jpeg) // 3])
    (tmp_path / "blocked").write_text("a file where a folder would go")
    (tmp_path / "folder.jpg").mkdir()   # was "no such image file"
    (tmp_path / "empty.jpg").write_bytes(b"")   # was "not a JPEG or PNG file"
    places = {"PHOTO": "photo.jpg", "CUT": "cut.jpg", "BLOCKED": "blocked", "FOLDER": "folder.jpg", "EMPTY": "empty.jpg"}
    for word, name in places.items():
        args = [a.replace(word, str(tmp_path / name)) for a in args]
        message = message.replace(word, str(tmp_path / name))
    assert _main(f"--model_dir={explain_run.model_dir}", f"--out={tmp_path / 'x.png'}", *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_a_json_file_of_another_kind_beside_out_is_not_written_over(explain_run, tmp_path, capsys):
    """--out runs/x/config.png wrote the explanation record over the run's config.json."""
    config = tmp_path / "config.json"
    config.write_text('{"model": {"model": "saers_fixed"}}')
    assert _main(f"--model_dir={explain_run.model_dir}", "--user=u01", "--item=item-001",
                 f"--out={tmp_path / 'config.png'}") == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --out: {config} exists and is not an explanation record (the JSON written beside --out's PNG), "
        "so it is not written over: give another --out name")
    assert config.read_text() == '{"model": {"model": "saers_fixed"}}' and os.listdir(tmp_path) == ["config.json"]
    for _ in range(2):   # its own record is replaced
        assert _main(f"--model_dir={explain_run.model_dir}", "--user=u01", "--item=item-001",
                     f"--out={tmp_path / 'why.png'}") == 0


def test_a_run_of_another_model_is_refused(tmp_path, capsys):
    assert _main(f"--model_dir={tmp_path}", "--user=u01", "--item=item-001") == 2
    assert "not a trained model folder" in capsys.readouterr().err


def test_a_run_whose_regions_were_remade_in_another_shape_is_named(explain_run, tmp_path):
    """regions.npz remade with another --region_feature after training (ROI [A, 256] → the
    probabilities [A, 4]): the checkpoint no longer fits the model the dataset builds, and
    loading the run says so instead of failing inside TensorFlow's restore."""
    from tfvisrec.data.errors import DataError
    from tfvisrec.vision import features, region_features
    copy = tmp_path / "dataset"
    shutil.copytree(explain_run.dataset_dir, copy)
    dataset = load_dataset(str(copy))
    classifier = region_features.load_region_classifier(dataset, explain_run.classifier)
    features.write_regions(str(copy), region_features.extract_regions(classifier, dataset, region_feature="probabilities"))
    with pytest.raises(DataError, match="does not fit the model built from the run's config and dataset .*"
                                        "remade since training"):
        checkpoints.load_trained(explain_run.model_dir, dataset_dir=str(copy))


def _photo_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 14), (200, 30, 30)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["cut in half", "a marker made up"])
def test_a_damaged_photo_is_one_line_on_stderr_before_the_model_loads(tmp_path, capfd, monkeypatch, damage):
    """A cut JPEG had TensorFlow's libjpeg write 'Improper call to JPEG library in state 201' (a
    made-up marker: 'Unsupported marker type 0x78') straight to fd 2 above the error line, and
    was found only after the model had loaded (seconds)."""
    def load(*args):
        pytest.fail("the model was loaded before the photo was checked")

    monkeypatch.setattr(explain_cli, "load_saers_run", load)
    jpeg = _photo_jpeg()
    photo = tmp_path / "bad.jpg"
    photo.write_bytes(jpeg[:len(jpeg) // 2] if damage == "cut in half" else b"\xff\xd8\xff" + b"x" * 100)
    assert _main("--model_dir=/no/such/run", "--user=u01", f"--image={photo}", f"--out={tmp_path / 'x.png'}") == 2
    assert capfd.readouterr().err == f"error: {photo}: cannot be decoded as an image: the file is cut short or damaged\n"
    assert os.listdir(tmp_path) == ["bad.jpg"]
