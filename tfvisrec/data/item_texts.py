"""Item texts (a dataset's `texts.json`: titles, descriptions) as fixed vectors for the
visual-semantic losses: hashed bags of words, l2-normalised, and a mask of the items with text."""
import re
import zlib
from typing import Optional, Sequence, Tuple

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


def hashed_bag_of_words(texts: Optional[Sequence[Optional[str]]], num_items: int,
                        buckets: int = 512) -> Tuple[np.ndarray, np.ndarray]:
    """→ (float32 [items, buckets], bool [items] has text). Words are lower-cased runs of
    letters and digits, hashed by CRC-32 (stable across runs); missing or empty texts give a
    zero row and False."""
    vectors = np.zeros((num_items, buckets), np.float32)
    has_text = np.zeros(num_items, bool)
    for i, text in enumerate(texts or []):
        words = _WORD.findall((text or "").lower())
        if not words:
            continue
        for w in words:
            vectors[i, zlib.crc32(w.encode("utf-8")) % buckets] += 1.0
        vectors[i] /= np.linalg.norm(vectors[i])
        has_text[i] = True
    return vectors, has_text
