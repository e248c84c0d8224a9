"""Models chosen by name (flag `--model`), never by editing code, as in TF Model Garden."""
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
    "tfvisrec.models.dvbpr",
    "tfvisrec.models.imgrec",
)


def register(name: str) -> Callable[[Type], Type]:
    """Class decorator: `@register("bprmf") class BPRMF(Recommender): ...`."""

    def decorate(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = cls
        cls.registered_name = name
        return cls

    return decorate


def _load_all():
    for module in MODEL_MODULES:
        importlib.import_module(module)


def names() -> List[str]:
    _load_all()
    return sorted(_REGISTRY)


def get(name: str) -> Type:
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def build(config, data_info):
    """Instantiate the model named by `config.model`."""
    return get(config.model)(data_info, config)
