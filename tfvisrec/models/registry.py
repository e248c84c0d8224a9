"""Models chosen by name (flag `--model`), never by editing code, as in TF Model Garden."""
import dataclasses
import importlib
from typing import Callable, Dict, List, Type

_REGISTRY: Dict[str, Type] = {}

# Modules whose import registers models; a new family adds its module here.
MODEL_MODULES = (
    "tfvisrec.models.popularity",
    "tfvisrec.models.mf",
    "tfvisrec.models.attributes",
    "tfvisrec.models.visrank",
    "tfvisrec.models.fm",
    "tfvisrec.models.vbpr",
    "tfvisrec.models.tvbpr",
    "tfvisrec.models.ivbpr",
    "tfvisrec.models.dvbpr",
    "tfvisrec.models.imgrec",
    "tfvisrec.models.saers",
    "tfvisrec.models.gan",
    "tfvisrec.models.pan",
)


def register(name: str) -> Callable[[Type], Type]:
    """Class decorator: `@register("bprmf") class BPRMF(Recommender): ...`."""

    def decorate(cls):
        _check_config_class(name, cls.config_class)
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = cls
        cls.registered_name = name
        return cls

    return decorate


def _check_config_class(name: str, config_class: Type) -> None:
    """A TypeError for a config_class not declared as a dataclass itself (a subclass of one
    without `@dataclasses.dataclass`): its own fields would silently not be hyper-parameters."""
    if "__dataclass_fields__" not in vars(config_class):
        raise TypeError(f"{config_class.__module__}.{config_class.__name__}, the config_class of {name!r}, "
                        "needs @dataclasses.dataclass: without it its fields are no hyper-parameters")


def _load_all():
    for module in MODEL_MODULES:
        importlib.import_module(module)


def names() -> List[str]:
    _load_all()
    return sorted(_REGISTRY)


def get(name: str) -> Type:
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(sorted(_REGISTRY))} "
                         f"(a new model registers with @register({name!r}) on its class, in a module "
                         "listed in MODEL_MODULES of tfvisrec/models/registry.py)")
    return _REGISTRY[name]


def config_class(name: str) -> Type:
    """The hyper-parameter dataclass of the model called `name`."""
    return get(name).config_class


def config_classes() -> Dict[Type, List[str]]:
    """Every registered model's config class → the names of the models that use it."""
    out: Dict[Type, List[str]] = {}
    for name in names():
        out.setdefault(config_class(name), []).append(name)
    return out


def new_config(name: str, **values):
    """The config of the model called `name` with `values` set (a ValueError names a value
    the model does not read)."""
    cls = config_class(name)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{name} has no hyper-parameter {', '.join(unknown)} "
                         f"({cls.__name__}: {', '.join(sorted(known))})")
    return cls(**{**values, "model": name})


def build(config, data_info):
    """Instantiate the model named by `config.model`."""
    return get(config.model)(data_info, config)
