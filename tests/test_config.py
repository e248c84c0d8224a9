"""Flag-backed configs: flagfiles parse into typed dataclasses; bad values are named."""
import pytest

from tfvisrec.models import model_flags


def test_flagfile_to_configs(tmp_path):
    path = tmp_path / "m.cfg"
    path.write_text("# a comment\n--model=warp\n--embedding_dim=8\n--nouse_item_bias\n"
                    "--learning_rate=0.5\n\n--epochs=3\n")
    model, train = model_flags.configs_from_flagfile(str(path), epochs=7)
    assert (model.model, model.embedding_dim, model.use_item_bias) == ("warp", 8, False)
    assert (train.learning_rate, train.epochs) == (0.5, 7)


def test_nested_flagfile_and_errors(tmp_path):
    base = tmp_path / "base.cfg"
    base.write_text("--embedding_dim=3\n")
    child = tmp_path / "child.cfg"
    child.write_text(f"--flagfile={base}\n--model=bprmf\n")
    model, _ = model_flags.configs_from_flagfile(str(child))
    assert model.embedding_dim == 3
    bad = tmp_path / "bad.cfg"
    bad.write_text("--embedding_dim=many\n")
    with pytest.raises(ValueError, match="embedding_dim='many' is not a valid int"):
        model_flags.configs_from_flagfile(str(bad))
    unknown = tmp_path / "unknown.cfg"
    unknown.write_text("--no_such_flag=1\n")
    with pytest.raises(ValueError, match="unknown flags"):
        model_flags.configs_from_flagfile(str(unknown))


def test_every_shipped_flagfile_parses():
    import glob
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = glob.glob(os.path.join(root, "configs", "*.cfg"))
    assert files
    for path in files:
        model_flags.configs_from_flagfile(path)


def test_out_of_range_settings_are_named_before_training(tmp_path):
    import dataclasses
    from tfvisrec.config import ModelConfig, TrainConfig
    from tfvisrec.training import fit
    assert TrainConfig().problems() == [] and ModelConfig().problems() == []
    bad = dataclasses.replace(TrainConfig(), epochs=0, batch_size=-5, learning_rate=float("nan"),
                              image_cache="foo", verbose=7, steps_per_epoch=-1,
                              model_dir=str(tmp_path / "run"))
    found = bad.problems()
    for flag in ("--epochs", "--batch_size", "--learning_rate", "--image_cache", "--verbose", "--steps_per_epoch"):
        assert sum(problem.startswith(flag + " ") for problem in found) == 1, found
    assert ModelConfig(num_negatives=0).problems() == ["--num_negatives must be at least 1, got 0"]
    with pytest.raises(ValueError, match="--epochs must be at least 1, got 0"):
        fit(ModelConfig(num_negatives=0), bad)
    assert not (tmp_path / "run").exists()
