"""Evaluation results as a readable table and as a JSON file written atomically."""
import json
import math
from typing import Dict

from tfvisrec import atomic


def format_table(results: Dict[str, float], title: str = "") -> str:
    """One line per protocol metric: `protocol  metric  value [± std]`; counts as integers."""
    rows = []
    for key, value in results.items():
        protocol, _, metric = key.partition("/")
        if metric.endswith("_std"):
            continue
        std = results.get(f"{key}_std")
        if metric.startswith("num_"):
            shown = "-" if math.isnan(value) else f"{int(value)}"
        else:
            shown = f"{value:.4f}" + (f" ± {std:.4f}" if std is not None else "")
        rows.append((protocol, metric, shown))
    width_p = max([len("protocol")] + [len(r[0]) for r in rows])
    width_m = max([len("metric")] + [len(r[1]) for r in rows])
    lines = [title] if title else []
    lines.append(f"{'protocol':<{width_p}}  {'metric':<{width_m}}  value")
    lines.append("-" * (width_p + width_m + 20))
    lines.extend(f"{p:<{width_p}}  {m:<{width_m}}  {v}" for p, m, v in rows)
    return "\n".join(lines)


def write_json(path: str, payload) -> None:
    """Write `payload` as JSON (NaN → null) to a temp file beside `path`, then rename it."""
    text = json.dumps(_finite(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic.write_bytes(path, text.encode("utf-8"))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
