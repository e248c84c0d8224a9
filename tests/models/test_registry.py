"""A new model is found by name: registered, in a module the registry imports."""
import importlib
import pkgutil

import pytest

import tfvisrec.models
from tfvisrec.models import registry
from tfvisrec.models.base import Recommender


def _import_every_model_module():
    for module in pkgutil.iter_modules(tfvisrec.models.__path__):
        importlib.import_module(f"tfvisrec.models.{module.name}")


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_an_unknown_name_says_how_a_model_is_registered():
    with pytest.raises(ValueError, match=r"unknown model 'no_such_model'; registered models: .*bprmf.*"
                                         r"@register\('no_such_model'\).*MODEL_MODULES"):
        registry.get("no_such_model")


def test_every_module_that_registers_a_model_is_in_model_modules():
    """Else the command lines and tests/serving/test_registered_models.py never see its models
    (they import MODEL_MODULES only), while a test importing the module directly passes."""
    _import_every_model_module()
    registered = {cls.__module__ for cls in registry._REGISTRY.values()}
    missing = sorted(m for m in registered if m.startswith("tfvisrec.") and m not in registry.MODEL_MODULES)
    assert not missing, f"add {missing} to MODEL_MODULES in tfvisrec/models/registry.py"


def test_every_model_class_is_registered_or_the_base_of_one():
    _import_every_model_module()
    registered = set(registry._REGISTRY.values())
    shipped = [cls for cls in _subclasses(Recommender) if cls.__module__.startswith("tfvisrec.")]
    unregistered = [f"{cls.__module__}.{cls.__name__}" for cls in shipped
                    if not any(issubclass(r, cls) for r in registered)]
    assert not unregistered, f"{unregistered}: decorate with @register(\"name\") (tfvisrec.models.registry)"
