"""`Explanation`: one answer of the `explain` / `explain_images` signatures (SAERS, Hou et al.
2019, §3.4) as a typed record: for one shopper and one item (a catalogue id, or a photo), each
attribute's attention weight α_ui^k (eq. 6), predicted value, the classifier's probability of
that value, and region box."""
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

OUTPUTS = ("attributes", "weights", "classes", "boxes", "top_attribute")
# served by exports made since it existed; read as unknown (NaN) from older ones
CLASS_PROBABILITIES = "class_probabilities"


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@dataclasses.dataclass(frozen=True)
class Explanation:
    """user, item (None for a photo), attributes [A] names, weights float32 [A] (sum to 1),
    classes [A] each attribute's predicted value, boxes float32 [A, 4] ((y1, x1, y2, x2) in
    [0, 1] of the padded square photo), top_attribute: the name weighted most,
    class_probabilities float32 [A]: how sure the attribute classifier is of each value in
    `classes` (NaN where the export does not know: its regions.npz, or the export, predates
    them). A confident weight on a value the classifier is unsure of explains little."""

    user: str
    item: Optional[str]
    attributes: List[str]
    weights: np.ndarray
    classes: List[str]
    boxes: np.ndarray
    top_attribute: str
    class_probabilities: np.ndarray

    @classmethod
    def from_outputs(cls, outputs: Dict[str, np.ndarray], row: int, user: str,
                     item: Optional[str] = None) -> "Explanation":
        """Row `row` of a signature's outputs (every name of OUTPUTS, and CLASS_PROBABILITIES
        when the export serves it)."""
        count = len(outputs["attributes"][row])
        probabilities = (np.asarray(outputs[CLASS_PROBABILITIES][row], np.float32)
                         if CLASS_PROBABILITIES in outputs else np.full(count, np.nan, np.float32))
        return cls(user=user, item=item, class_probabilities=probabilities,
                   attributes=[_text(a) for a in outputs["attributes"][row]],
                   weights=np.asarray(outputs["weights"][row], np.float32),
                   classes=[_text(c) for c in outputs["classes"][row]],
                   boxes=np.asarray(outputs["boxes"][row], np.float32).reshape(-1, 4),
                   top_attribute=_text(outputs["top_attribute"][row]))

    def ranked(self) -> List[Tuple[str, float, str, Tuple[float, ...], Optional[float]]]:
        """(attribute, weight, predicted value, box, the value's probability or None when
        unknown) by decreasing weight."""
        order = np.argsort(-self.weights, kind="stable")
        return [(self.attributes[k], float(self.weights[k]), self.classes[k],
                 tuple(float(v) for v in self.boxes[k]), _known(self.class_probabilities[k])) for k in order]

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready: user, item, top_attribute and the attributes ranked by weight."""
        return {"user": self.user, "item": self.item, "top_attribute": self.top_attribute,
                "attributes": [{"attribute": a, "weight": w, "value": c, "value_probability": p, "box": list(b)}
                               for a, w, c, b, p in self.ranked()]}


def _known(probability) -> Optional[float]:
    return None if np.isnan(probability) else float(probability)
