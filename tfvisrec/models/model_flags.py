"""Every model family's hyper-parameters as absl flags, and flags back to the chosen model's config.

Each registered model names its config dataclass (`Recommender.config_class`); their fields
become flags once each, so flagfiles keep `--name=value` lines whatever model they train.
`--helpfull` shows them grouped: the flags every model reads, then one group per family,
then those several families share (each flag's help ends with the models that read it).
A flag set for a model that does not read it is an error, not silently ignored.
"""
import dataclasses
from typing import Dict, List, Tuple, Type

from absl import flags

from tfvisrec import config as config_lib
from tfvisrec.models import registry

EVERY_MODEL_GROUP = "tfvisrec: every model"
SHARED_GROUP = "tfvisrec: hyper-parameters of several model families"
# Flags a flagfile may hold that are neither model nor training hyper-parameters.
_OTHER_FLAGFILE_FLAGS = {"verbosity", "deterministic"}


def _field_names(cls: Type) -> List[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _declaration(f) -> Tuple[type, object]:
    return config_lib.field_type(f), f.default


def check_shared_fields() -> None:
    """A ValueError naming a hyper-parameter that two families declare with another type or
    default: it is one flag, defined by whichever family comes first, so the other would
    silently train with that family's default (and parse the other's type)."""
    first: Dict[str, Tuple[Type, object]] = {}
    for cls in registry.config_classes():
        for f in dataclasses.fields(cls):
            other, other_field = first.setdefault(f.name, (cls, f))
            if _declaration(f) != _declaration(other_field):
                raise ValueError(
                    f"--{f.name} is declared as {_described(f)} by {cls.__module__}.{cls.__name__} but as "
                    f"{_described(other_field)} by {other.__module__}.{other.__name__}: a hyper-parameter "
                    "of several families is one flag, so declare it with its definition in "
                    "tfvisrec/models/hyperparameters.py (move it there if it has none), or rename yours")


def _described(f) -> str:
    kind, default = _declaration(f)
    return f"{kind.__name__} = {default!r}"


def readers() -> Dict[str, List[str]]:
    """Each model hyper-parameter → the registered models that read it (a ValueError for a
    hyper-parameter that two families declare differently: `check_shared_fields`)."""
    check_shared_fields()
    out: Dict[str, List[str]] = {}
    for cls, models in registry.config_classes().items():
        for name in _field_names(cls):
            out.setdefault(name, []).extend(models)
    return {name: sorted(models) for name, models in out.items()}


def define_model_flags(flag_values=None) -> None:
    """Define the flags of `ModelConfig` and of every registered family's config (in
    `flag_values`, default FLAGS)."""
    config_lib.define_flags(config_lib.ModelConfig, module_name=EVERY_MODEL_GROUP, flag_values=flag_values)
    by_field = readers()
    everyone = set(_field_names(config_lib.ModelConfig))
    suffix = {name: f" [models: {', '.join(models)}]" for name, models in by_field.items()
              if name not in everyone}
    families = registry.config_classes()
    for cls, models in families.items():
        own = {name for name in _field_names(cls) if by_field[name] == sorted(models)} - everyone
        group = f"tfvisrec: {', '.join(models)} ({cls.__module__}.{cls.__name__})"
        config_lib.define_flags(cls, module_name=group, help_suffix=suffix, only=own, flag_values=flag_values)
    for cls in families:
        config_lib.define_flags(cls, module_name=SHARED_GROUP, help_suffix=suffix, flag_values=flag_values)


def model_config_from_flags(flag_values=None):
    """The config of `--model`, from parsed flags; a ValueError for a flag given on the command
    line or in a flagfile that this model does not read."""
    fv = flag_values or flags.FLAGS
    cls = registry.config_class(fv.model)
    known = set(_field_names(cls))
    given = {name for name in readers() if name in fv and fv[name].present}
    _check_applies(fv.model, given - known, "flag")
    return registry.new_config(fv.model, **{name: fv[name].value for name in known if name != "model"})


def _check_applies(model: str, foreign, what: str) -> None:
    if foreign:
        by_field = readers()
        detail = "; ".join(f"--{name} is read by {', '.join(by_field[name])}" for name in sorted(foreign))
        cls = registry.config_class(model)
        raise ValueError(f"{model} does not read the {what}{'s' if len(foreign) > 1 else ''} "
                         f"{', '.join('--' + n for n in sorted(foreign))} ({detail}): it reads the fields "
                         f"of its config_class, {cls.__module__}.{cls.__name__}: {', '.join(_field_names(cls))}")


def configs_from_flagfile(path: str, **overrides) -> Tuple[object, config_lib.TrainConfig]:
    """(the model's config, TrainConfig) from a flagfile plus keyword overrides, without absl
    parsing (for the demo, benchmarks and tests, which train several models in one process)."""
    model_fields = readers()
    train_fields = set(_field_names(config_lib.TrainConfig))
    values = dict(config_lib.read_flagfile(path, flag_names=set(model_fields) | train_fields))
    values.update(overrides)
    unknown = set(values) - set(model_fields) - train_fields - _OTHER_FLAGFILE_FLAGS
    if unknown:
        raise ValueError(f"{path}: unknown flags {sorted(unknown)}")
    name = str(values.get("model", config_lib.ModelConfig.model))
    cls = registry.config_class(name)
    _check_applies(name, {k for k in values if k in model_fields} - set(_field_names(cls)), f"{path} flag")
    model_config = config_lib.from_values(cls, {**values, "model": name}, path)
    return model_config, config_lib.from_values(config_lib.TrainConfig, values, path)
