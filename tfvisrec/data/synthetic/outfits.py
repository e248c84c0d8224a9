"""Outfits: personalised compatible outfits and rule-breaking ones (for PAN-style models).

A user's outfit is built slot by slot from a template; each part is drawn among the items of
the slot's category with probability ∝ exp(u(user, item) / temperature). Broken outfits
either swap one part for a category no template allows, or put two clashing colours together.
Every label comes from `vocabulary.outfit_violation`, never from how the outfit was built.
"""
import dataclasses
from typing import List

import numpy as np

from tfvisrec.data.synthetic import vocabulary as vocab

_CATEGORY = vocab.ATTRIBUTE_NAMES.index("category")
_COLOUR = vocab.ATTRIBUTE_NAMES.index("colour")


@dataclasses.dataclass
class Outfit:
    user: int
    items: List[int]
    violation: str   # "" when compatible

    @property
    def compatible(self) -> bool:
        return self.violation == ""


def sample_outfits(item_values, utility, per_user, temperature, rng) -> List[Outfit]:
    """`per_user` outfits per user, alternating compatible / broken (categories or colours)."""
    categories = [vocab.CATEGORIES[c] for c in item_values[:, _CATEGORY]]
    colours = [vocab.COLOURS[c] for c in item_values[:, _COLOUR]]
    by_category = {c: np.flatnonzero(item_values[:, _CATEGORY] == k) for k, c in enumerate(vocab.CATEGORIES)}
    outfits = []
    for user in range(utility.shape[0]):
        def pick(candidates):
            if len(candidates) == 0:
                return None
            logits = utility[user, candidates] / temperature + rng.gumbel(size=len(candidates))
            return int(candidates[np.argmax(logits)])

        for k in range(per_user):
            kind = "compatible" if k % 2 == 0 else ("categories" if rng.random() < 0.5 else "colours")
            parts = _build(kind, by_category, colours, pick, rng)
            if parts is None:
                continue  # the catalogue lacks a needed category (tiny worlds only)
            violation = vocab.outfit_violation([categories[i] for i in parts], [colours[i] for i in parts])
            outfits.append(Outfit(user=user, items=parts, violation=violation))
    return outfits


def _build(kind, by_category, colours, pick, rng):
    template = list(vocab.OUTFIT_TEMPLATES[rng.integers(len(vocab.OUTFIT_TEMPLATES))])
    if kind == "categories":
        slot = int(rng.integers(len(template)))
        allowed = [sorted(t) for t in vocab.OUTFIT_TEMPLATES]
        wrong = [c for c in vocab.CATEGORIES
                 if sorted(template[:slot] + [c] + template[slot + 1:]) not in allowed]
        template[slot] = wrong[int(rng.integers(len(wrong)))]
    parts: List[int] = []
    for slot, category in enumerate(template):
        candidates = [i for i in by_category[category] if i not in parts]
        chosen = [colours[i] for i in parts]
        if kind == "colours" and slot == 0:
            candidates = [i for i in candidates if colours[i] not in vocab.NEUTRAL_COLOURS]
        elif kind == "colours" and slot == 1:
            candidates = [i for i in candidates if _clashes(colours[i], chosen[0])]
        else:
            candidates = [i for i in candidates if _harmonious(colours[i], chosen)]
        item = pick(np.asarray(candidates, np.int64))
        if item is None:
            return None
        parts.append(item)
    return parts


def _clashes(a, b) -> bool:
    return (a, b) in vocab.CLASHING_COLOURS or (b, a) in vocab.CLASHING_COLOURS


def _harmonious(colour, chosen) -> bool:
    """Adding `colour` keeps the colour rules (no clash, few accent colours)."""
    if colour in vocab.NEUTRAL_COLOURS:
        return True
    accents = {c for c in chosen if c not in vocab.NEUTRAL_COLOURS} | {colour}
    return len(accents) <= vocab.MAX_ACCENT_COLOURS and not any(_clashes(colour, c) for c in chosen)
