"""Sample the catalogue: each item's attribute values (indices into `vocabulary.ATTRIBUTES`)."""
import numpy as np

from tfvisrec.data.synthetic import vocabulary as vocab


def sample_item_values(num_items: int, rng: np.random.Generator) -> np.ndarray:
    """int32 [num_items, num_attributes]; region attributes are 0 ("none") off tops and dresses."""
    values = np.zeros((num_items, len(vocab.ATTRIBUTES)), np.int32)
    for a, (name, _) in enumerate(vocab.ATTRIBUTES):
        p = np.asarray(vocab.VALUE_WEIGHTS[name], np.float64)
        values[:, a] = rng.choice(len(p), size=num_items, p=p / p.sum())
    has_regions = np.isin(values[:, 0], [vocab.CATEGORIES.index(c) for c in vocab.REGION_CATEGORIES])
    for name in vocab.REGION_ATTRIBUTES:
        a = vocab.ATTRIBUTE_NAMES.index(name)
        values[~has_regions, a] = 0
    return values


def value_names(values_row) -> dict:
    """One item's attribute values as {attribute name: value name}."""
    return {name: names[int(v)] for (name, names), v in zip(vocab.ATTRIBUTES, values_row)}


def one_hot(item_values: np.ndarray) -> np.ndarray:
    """float64 [items, total values]: the item's value of each attribute set to 1."""
    offsets = vocab.value_offsets()
    x = np.zeros((item_values.shape[0], vocab.num_values()), np.float64)
    rows = np.arange(item_values.shape[0])
    for a, offset in enumerate(offsets):
        x[rows, offset + item_values[:, a]] = 1.0
    return x
