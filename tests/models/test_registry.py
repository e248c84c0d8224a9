"""A new model is found by name: registered, in a module the registry imports."""
import importlib
import pkgutil

import pytest

import tfvisrec.models
from tfvisrec.models import model_flags, registry
from tfvisrec.models.base import Recommender
from tfvisrec.models.mf import MFConfig


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


def test_a_config_class_without_dataclass_is_named_when_registered():
    class UndecoratedConfig(MFConfig):
        margin_kind: str = "soft"

    class Model(Recommender):
        config_class = UndecoratedConfig

    with pytest.raises(TypeError, match=r"UndecoratedConfig, the config_class of 'test_undecorated', "
                                        r"needs @dataclasses.dataclass"):
        registry.register("test_undecorated")(Model)
    assert "test_undecorated" not in registry.names()


def test_a_flag_the_model_does_not_read_names_its_config_class(tmp_path):
    """What a model whose config_class was left at ModelConfig meets first."""
    path = tmp_path / "m.cfg"
    path.write_text("--model=poprank\n--embedding_dim=8\n")
    with pytest.raises(ValueError, match=r"poprank does not read the .*m.cfg flag --embedding_dim \(.*\): it reads the "
                                         r"fields of its config_class, tfvisrec\.config\.ModelConfig: model, seed"):
        model_flags.configs_from_flagfile(str(path))
