"""A tiny SAERS run made the real way, for the explain command line and the explain signatures.

The serving tests' tiny world (12 users, 30 JPEG items) plus: an attribute classifier (a small
CNN-F with two heads, saved as a checkpoint; its weights are its initialisation: the tests
check that every path computes the same regions, not what they mean), whose features and
attribute regions `python -m tfvisrec.vision.features --regions` would write
(`features.npy`, `features.json` naming the classifier, `regions.npz`), and a `saers_fixed`
run trained for two epochs by the trainer.
"""
import dataclasses
import os
import sys
from typing import NamedTuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "serving"))

import serving_world  # noqa: E402

CLASSIFIER_SIZE = 32
CARDINALITIES = (3, 4)


class ExplainRun(NamedTuple):
    dataset_dir: str
    classifier: str     # checkpoint prefix of the attribute classifier
    model_dir: str


def make_explain_run(root: str) -> ExplainRun:
    import tf_keras as keras
    from tfvisrec.config import TrainConfig
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.models import registry
    from tfvisrec.training import fit
    from tfvisrec.vision import attributes, features, region_features

    dataset_dir = serving_world.write_world(os.path.join(root, "dataset"))
    keras.utils.set_random_seed(0)
    network = attributes.AttributeNetwork(CARDINALITIES, {"name": "cnnf", "image_size": CLASSIFIER_SIZE,
                                                          "fc_width": 16, "dropout": 0.0, "weight_decay": 0.0})
    classifier = os.path.join(root, "classifier", "weights")
    network.save_weights(classifier)
    dataset = load_dataset(dataset_dir)
    item_features, probs, info = features.extract(dataset, classifier, batch_size=64)
    features.write_outputs(dataset_dir, item_features, probs, info)
    features.write_regions(dataset_dir, region_features.extract_regions(network, dataset))
    model_dir = os.path.join(root, "saers_fixed")
    fit(registry.new_config("saers_fixed", visual_dim=4, attention_dim=8, num_negatives=2, seed=3),
        dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=model_dir, epochs=2, batch_size=16,
                            learning_rate=0.05, verbose=0))
    return ExplainRun(dataset_dir, classifier, model_dir)
