"""Per-family model configs: generated flags, grouped help, errors for flags a model does not read."""
import dataclasses
import json
import os

import pytest
from absl import flags

from tfvisrec import config as config_lib
from tfvisrec.data import schema
from tfvisrec.models import model_flags, registry
from tfvisrec.training import checkpoints


CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs")


def _flag_values(*argv):
    fv = flags.FlagValues()
    config_lib.define_flags(config_lib.TrainConfig, flag_values=fv)
    model_flags.define_model_flags(flag_values=fv)
    fv(["prog", *argv])
    return fv


def test_every_model_reads_a_config_of_its_own_family():
    for name in registry.names():
        cls = registry.config_class(name)
        assert issubclass(cls, config_lib.ModelConfig) and dataclasses.is_dataclass(cls), name
        fields = {f.name for f in dataclasses.fields(cls)}
        keys = registry.get(name).item_feature_keys
        assert (schema.IMAGE not in keys) or "image_size" in fields, name
        assert (schema.FEATURES not in keys) or "features_file" in fields, name
    assert "visrank_pooling" not in {f.name for f in dataclasses.fields(registry.config_class("bprmf"))}
    assert registry.config_class("tvbpr") is not registry.config_class("vbpr")


def test_a_hyper_parameter_means_the_same_in_every_family():
    seen = {}
    shipped = [cls for cls in registry.config_classes() if cls.__module__.startswith("tfvisrec.")]
    assert len(shipped) >= 8
    for cls in shipped:
        for f in dataclasses.fields(cls):
            spec = (config_lib.field_type(f), f.default, f.metadata["help"])
            assert seen.setdefault(f.name, spec) == spec, f"--{f.name} differs in {cls.__name__}"


def test_flagfiles_parse_into_their_model_config():
    fv = _flag_values(f"--flagfile={os.path.join(CONFIGS, 'tvbpr.cfg')}", "--time_epochs=3")
    config = model_flags.model_config_from_flags(fv)
    assert type(config) is registry.config_class("tvbpr")
    assert (config.model, config.time_epochs) == ("tvbpr", 3)


def test_a_flag_the_model_does_not_read_is_an_error(tmp_path):
    fv = _flag_values("--model=bprmf", "--fc_width=8", "--visrank_pooling=max")
    with pytest.raises(ValueError, match=r"bprmf does not read the flags --fc_width, --visrank_pooling "
                                         r"\(--fc_width is read by attributes, dvbpr, fhn, imgrec_dir"):
        model_flags.model_config_from_flags(fv)
    path = tmp_path / "m.cfg"
    path.write_text("--model=poprank\n--embedding_dim=8\n")
    with pytest.raises(ValueError, match=r"m.cfg flag --embedding_dim"):
        model_flags.configs_from_flagfile(str(path))
    with pytest.raises(ValueError, match="bprmf has no hyper-parameter fc_width"):
        registry.new_config("bprmf", fc_width=8)


def test_helpfull_groups_each_familys_flags():
    fv = _flag_values()
    groups = {module: {flag.name for flag in group} for module, group in fv.flags_by_module_dict().items()}
    every = groups[model_flags.EVERY_MODEL_GROUP]
    assert {"model", "seed", "num_negatives"} <= every
    visrank = next(g for m, g in groups.items() if m.startswith("tfvisrec: visrank "))
    assert visrank == {"visrank_pooling"}
    tvbpr = next(g for m, g in groups.items() if m.startswith("tfvisrec: itvbpr, tvbpr "))
    assert tvbpr == {"time_epochs", "l2_drift", "epoch_segmentation", "time_bins", "segment_every",
                     "segment_samples", "item_bias_drift", "min_epoch_bins"}
    assert {"embedding_dim", "fc_width", "features_file"} <= groups[model_flags.SHARED_GROUP]
    assert fv["fc_width"].help.endswith("[models: attributes, dvbpr, fhn, imgrec_dir, imgrec_ete, imgrec_ft, pan, pan_ul, pan_ul_hn, saers]")
    assert not fv["seed"].help.endswith("]")


def test_a_run_saved_with_every_models_hyper_parameters_still_loads(tmp_path):
    old = {f.name: f.default for cls in registry.config_classes() for f in dataclasses.fields(cls)}
    old.update(model="dvbpr", visual_dim=7, embedding_dim=3)
    (tmp_path / checkpoints.CONFIG_FILE).write_text(json.dumps({"model": old, "train": {"epochs": 2}}))
    model_config, train_config = checkpoints.read_configs(str(tmp_path))
    assert model_config == registry.new_config("dvbpr", visual_dim=7)
    assert train_config.epochs == 2


@dataclasses.dataclass
class _ClashingConfig(config_lib.ModelConfig):
    margin: str = config_lib.field("soft", "A margin kind (clashes with MM-MF's float --margin).")


class _ClashingModel:
    config_class = _ClashingConfig


def test_a_field_declared_unlike_another_familys_is_named_with_the_fix(monkeypatch, tmp_path):
    """One flag per name: without the check, --model=clash would silently get MM-MF's 1.0."""
    registry.names()
    monkeypatch.setitem(registry._REGISTRY, "test_clash", _ClashingModel)
    path = tmp_path / "clash.cfg"
    path.write_text("--model=test_clash\n")
    expected = (r"--margin is declared as .* by tests?.*_ClashingConfig but as float = 1.0 by "
                r"tfvisrec.models.mf.MFConfig.*hyperparameters.py")
    with pytest.raises(ValueError, match=expected):
        model_flags.configs_from_flagfile(str(path))
    with pytest.raises(ValueError, match=expected):
        _flag_values("--model=test_clash")
