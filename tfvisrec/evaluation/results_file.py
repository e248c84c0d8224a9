"""The results file of `python -m tfvisrec.evaluate`: one file per checkpoint and split that
gathers every protocol evaluated on it.

A run's protocols replace only their own entries (results keyed `<protocol>/<metric>`, and
the protocol's seed and trials); the entries of other protocols stay when the file holds an
evaluation of the same checkpoint (the same weights: `checkpoint_sha256`), split and dataset.
An evaluation of another checkpoint there (the run trained on since) is replaced whole, as its
results would not be this checkpoint's; a file of another kind (a run's config.json, any file
that is not an evaluation's results) is not written over: `foreign_file_problem` names it
before the evaluation runs. The read, merge and write
hold a lock (a hidden `.<name>.lock` beside the file), so two evaluations ending together
both land; the write is atomic.
"""
import os
from typing import List, Optional, Tuple

from tfvisrec.evaluation import report
from tfvisrec.lock_file import exclusive_lock
from tfvisrec.own_json_files import foreign_json_problem, read_json_object

# what must match for an earlier file's results to be kept beside the new ones
SAME_EVALUATION = ("model", "model_dir", "checkpoint", "checkpoint_sha256", "dataset", "split")


def protocol_of(key: str) -> str:
    """The protocol of a results key: `sampled_100/hr@10` → `sampled_100`."""
    return key.partition("/")[0]


def merged(earlier: Optional[dict], new: dict) -> Tuple[dict, List[str]]:
    """→ (the payload to write, the protocols kept from `earlier`). `new` has the keys of
    SAME_EVALUATION, `protocols` [names], `settings` {name: {...}} and `results` {key: value}."""
    if not _same_evaluation(earlier, new):
        return new, []
    kept = [p for p in earlier["protocols"] if p not in new["protocols"]]
    results = {k: v for k, v in earlier["results"].items() if protocol_of(k) in kept}
    results.update(new["results"])
    settings = {p: s for p, s in earlier["settings"].items() if p in kept}
    settings.update(new["settings"])
    return {**new, "protocols": kept + list(new["protocols"]), "settings": settings, "results": results}, kept


def write_results(path: str, payload: dict) -> List[str]:
    """Write `payload` to `path`, merged with the evaluation already there (see the module) →
    the protocols kept from it."""
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with exclusive_lock(os.path.join(folder, f".{name}.lock")):
        payload, kept = merged(read_json_object(path), payload)
        report.write_json(path, payload)
    return kept


def foreign_file_problem(path: str) -> Optional[str]:
    """Why the results may not be written to `path`: a file is there that is not an evaluation's
    results (`--output runs/x/config.json` replaced the run's configuration); None otherwise."""
    return foreign_json_problem(
        path, lambda earlier: isinstance(earlier.get("results"), dict) and isinstance(earlier.get("protocols"), list),
        'the results of an evaluation (no "results" and "protocols" in it)', "give another file")


def _same_evaluation(earlier: Optional[dict], new: dict) -> bool:
    if earlier is None or new.get("checkpoint_sha256") is None:
        return False
    if not (isinstance(earlier.get("protocols"), list) and isinstance(earlier.get("settings"), dict)
            and isinstance(earlier.get("results"), dict)):
        return False
    return all(earlier.get(k) == new[k] for k in SAME_EVALUATION)
