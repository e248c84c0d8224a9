"""A trained I-VBPR / I-TVBPR run, ready for the interactive and trends command lines.

Loads the model from its run folder (`training.checkpoints.load_trained`), its named
features f_i exactly as the model saw them (the run's --features_file, else the dataset's
`attribute_probs.npz`; unit-length rows when it was trained with --feature_norm=l2), and
turns the names a person types (user, item, feature) into indices, with the closest names
in the error when one is unknown.
"""
import dataclasses
import difflib
import os
from typing import List, Sequence

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.models import interactive
from tfvisrec.models.interpretable_features import InterpretableFeatures, load_interpretable_features
from tfvisrec.models.ivbpr import ITVBPR, IVBPR, collaborative_terms, visual_weights

INTERPRETABLE_MODELS = (IVBPR, ITVBPR)


class UnknownNameError(ValueError):
    """A user, item or feature name the run does not know (the message lists close ones)."""


def closest_names(name: str, names: Sequence[str], n: int = 5) -> List[str]:
    """Up to n names of `names` that look like `name` (difflib), best first."""
    return difflib.get_close_matches(str(name), list(names), n=n, cutoff=0.4)


def resolve_name(kind: str, name: str, names: Sequence[str]) -> int:
    """Index of `name` in `names`; UnknownNameError listing the closest names otherwise."""
    index = {n: k for k, n in enumerate(names)}.get(str(name))
    if index is None:
        close = closest_names(name, names)
        hint = f"; closest: {', '.join(close)}" if close else f" (there are {len(names)}; e.g. {', '.join(list(names)[:5])})"
        raise UnknownNameError(f"unknown {kind} {name!r}{hint}")
    return index


@dataclasses.dataclass
class InterpretableRun:
    """A trained interpretable model with its dataset and named features."""

    model: object
    dataset: object
    features: InterpretableFeatures

    @property
    def is_temporal(self) -> bool:
        return isinstance(self.model, ITVBPR)

    @property
    def num_epochs(self) -> int:
        return self.model.epochs.num_epochs if self.is_temporal else 1

    def user(self, name: str) -> int:
        return resolve_name("user", name, self.dataset.user_ids)

    def item(self, name: str) -> int:
        return resolve_name("item", name, self.dataset.item_ids)

    def feature(self, name: str) -> int:
        return resolve_name("feature", name, self.features.names)

    def affinity(self, user: int, epoch: int = -1) -> np.ndarray:
        """p_u = W(t) θ_u + β'(t) [F] (seed eq. 5; t = `epoch` for I-TVBPR)."""
        projection, bias = visual_weights(self.model, epoch)
        theta = self.model.user_visual_factors.numpy()[user]
        return interactive.visual_affinity(projection, theta, bias)

    def base_scores(self, user: int) -> np.ndarray:
        """γ_uᵀγ_i + β_i [items]: with p_uᵀf_i, the model's whole x̂(u, i)."""
        return collaborative_terms(self.model, user)

    def seen_items(self, user: int) -> np.ndarray:
        """The user's training items (left out of recommendations)."""
        train = self.dataset.train
        return np.unique(train.items[train.users == user])


def load_interpretable_run(model_dir: str, checkpoint: str = "best") -> InterpretableRun:
    """The run in `model_dir`; DataError when it is missing or not an ivbpr / itvbpr run."""
    from tfvisrec.training.checkpoints import load_trained
    if not os.path.isdir(model_dir):
        raise DataError("no such run folder", model_dir)
    model, dataset = load_trained(model_dir, which=checkpoint)
    if not isinstance(model, INTERPRETABLE_MODELS):
        raise DataError(f"is a {model.registered_name} run; this needs an interpretable model "
                        f"(ivbpr or itvbpr, trained on attribute probabilities)", model_dir)
    path = model.features_file or os.path.join(dataset.path, model.default_features_file)
    features = load_interpretable_features(path, num_items=dataset.num_items,
                                           norm="l2" if model.feature_norm == "l2" else "none")
    return InterpretableRun(model, dataset, features)
