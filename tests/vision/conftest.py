"""Fixtures of the vision tests: a tiny labelled catalogue and one short training run on it."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TINY = dict(image_size=32, fc_width=32)


@pytest.fixture(scope="session")
def catalogue_dir(tmp_path_factory):
    from catalogue_world import write_catalogue
    return write_catalogue(str(tmp_path_factory.mktemp("vision") / "catalogue"))


@pytest.fixture(scope="session")
def catalogue(catalogue_dir):
    from tfvisrec.data.dataset import load_dataset
    return load_dataset(catalogue_dir)


@pytest.fixture(scope="session")
def trained_run(catalogue_dir, tmp_path_factory):
    """`configs/attributes.cfg` shrunk: a few trainer steps → (model_dir, trained classifier)."""
    import tf_keras as keras
    from tfvisrec.models import model_flags
    from tfvisrec.training import fit
    keras.utils.set_random_seed(0)
    model_dir = str(tmp_path_factory.mktemp("vision") / "run")
    model_config, train_config = model_flags.configs_from_flagfile(
        os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "configs", "attributes.cfg"),
        dataset=catalogue_dir, model_dir=model_dir, epochs=2, batch_size=16, verbose=0,
        learning_rate=3e-4, **TINY)
    model, _ = fit(model_config, train_config)
    return model_dir, model
