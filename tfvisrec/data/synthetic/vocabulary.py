"""The attribute vocabulary of the style world and its outfit rules (fixed, not hyper-parameters).

Value index 0 of a region attribute (`sleeve`, `neckline`, `print`) is `"none"`: the item's
category has no such region (trousers have no sleeves). `"sleeveless"` and `"plain"` are real
choices of categories that do have the region, drawn (and boxed) at the usual place.
"""
from typing import Dict, List, Tuple

NONE = "none"

CATEGORIES = ("top", "trousers", "dress", "skirt", "shoes", "bag")
COLOURS = ("black", "white", "grey", "red", "blue", "green", "yellow", "pink")
PATTERNS = ("solid", "stripes", "dots", "checks")
SLEEVES = (NONE, "sleeveless", "short", "long")
NECKLINES = (NONE, "round", "v", "collar")
PRINTS = (NONE, "plain", "star", "heart", "logo")

# Attribute order of `items.csv` columns, of `Truth.item_values[:, a]` and of the weights.
ATTRIBUTES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("category", CATEGORIES),
    ("colour", COLOURS),
    ("pattern", PATTERNS),
    ("sleeve", SLEEVES),
    ("neckline", NECKLINES),
    ("print", PRINTS),
)
ATTRIBUTE_NAMES = tuple(name for name, _ in ATTRIBUTES)
REGION_ATTRIBUTES = ("sleeve", "neckline", "print")
# Categories whose drawing has the upper-body regions (sleeves, neck, chest).
REGION_CATEGORIES = ("top", "dress")

# How often each value is drawn for an item (region attributes: among region categories).
VALUE_WEIGHTS: Dict[str, Tuple[float, ...]] = {
    "category": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "colour": (1.0,) * len(COLOURS),
    "pattern": (0.4, 0.2, 0.2, 0.2),
    "sleeve": (0.0, 1.0, 1.0, 1.0),
    "neckline": (0.0, 1.0, 1.0, 1.0),
    "print": (0.0, 0.4, 0.2, 0.2, 0.2),
}

COLOUR_RGB: Dict[str, Tuple[int, int, int]] = {
    "black": (35, 35, 38),
    "white": (248, 248, 246),
    "grey": (130, 130, 134),
    "red": (200, 32, 40),
    "blue": (40, 72, 185),
    "green": (38, 140, 62),
    "yellow": (238, 200, 40),
    "pink": (242, 142, 182),
}
BACKGROUND_RGB = (222, 218, 208)

# Outfit rules: an outfit is compatible when its categories form one of the templates (as a
# multiset), it has at most MAX_ACCENT_COLOURS distinct non-neutral colours, and no two parts
# wear a clashing pair of colours.
OUTFIT_TEMPLATES: Tuple[Tuple[str, str, str], ...] = (
    ("top", "trousers", "shoes"),
    ("top", "skirt", "shoes"),
    ("top", "trousers", "bag"),
    ("dress", "shoes", "bag"),
)
NEUTRAL_COLOURS = ("black", "white", "grey")
CLASHING_COLOURS: Tuple[Tuple[str, str], ...] = (
    ("red", "pink"),
    ("red", "green"),
    ("red", "yellow"),
    ("pink", "yellow"),
    ("green", "blue"),
)
MAX_ACCENT_COLOURS = 2


def value_offsets() -> List[int]:
    """Start of each attribute's block in the flat [sum of cardinalities] weight vector."""
    offsets, total = [], 0
    for _, values in ATTRIBUTES:
        offsets.append(total)
        total += len(values)
    return offsets


def num_values() -> int:
    return sum(len(values) for _, values in ATTRIBUTES)


def outfit_rules() -> Dict:
    """The outfit rules as JSON-ready data (recorded in truth.json)."""
    return {
        "templates": [list(t) for t in OUTFIT_TEMPLATES],
        "neutral_colours": list(NEUTRAL_COLOURS),
        "clashing_colours": [list(p) for p in CLASHING_COLOURS],
        "max_accent_colours": MAX_ACCENT_COLOURS,
    }


def outfit_violation(categories, colours) -> str:
    """Which rule an outfit breaks: "" (compatible), "categories" or "colours"."""
    if sorted(categories) not in [sorted(t) for t in OUTFIT_TEMPLATES]:
        return "categories"
    accents = {c for c in colours if c not in NEUTRAL_COLOURS}
    if len(accents) > MAX_ACCENT_COLOURS:
        return "colours"
    for a, b in CLASHING_COLOURS:
        if a in accents and b in accents:
            return "colours"
    return ""
