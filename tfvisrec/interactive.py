"""`python -m tfvisrec.interactive`: a shopper's visual taste in named features, and steering it.

    python -m tfvisrec.interactive --model_dir runs/ivbpr --user U [--k 10]
        [--like I] [--more colour=red | --less pattern=striped] [--strength 0.5] [--json]

On a trained I-VBPR / I-TVBPR run it prints the user's affinity p_u = Eᵀθ_u + β' (seed eq. 5:
how much one unit of each named feature raises the user's score, and its share of ‖p_u‖₁),
then the top-k items before and after one steering step, ranked by the model's own
x̂(u, i) = γ_uᵀγ_i + β_i + p_uᵀf_i with only p_u moved:

- `--like I` (seed eq. 6): p_u ← (1 − λ) p_u + λ ‖p_u‖₁ f_I / ‖f_I‖₁, λ = --strength ∈ [0, 1];
- `--more F` / `--less F` (seed eq. 7): p_u ← p_u ± λ e_F, with λ = --strength × max_k |p_u,k|
  (so 1 moves feature F by the user's strongest affinity).

`--like` and one of `--more` / `--less` may be given together (`--more colour=black --like I123`):
the like step first, then the feature step. `--toward_item`, `--boost` and `--reduce` are the
older names of `--like`, `--more` and `--less`.

The user's training items are left out of the lists. For I-TVBPR the weights of --epoch
(default: the last) are used. Unknown users, items or features print `error: …` with the
closest names and exit with status 2; `--json` prints one JSON record instead of tables.
"""
import json
import sys

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags

from tfvisrec.config import UsageError, define_once
from tfvisrec.interruption import run_command

define_once(flags.DEFINE_string, "model_dir", "", "Folder of a trained ivbpr / itvbpr run.")
define_once(flags.DEFINE_string, "user", "", "The shopper (a user id of the run's dataset).")
define_once(flags.DEFINE_string, "like", "", "Steer toward this item's looks, e.g. I123 (seed eq. 6).")
define_once(flags.DEFINE_string, "more", "", "Steer toward this named feature, e.g. colour=black (seed eq. 7).")
define_once(flags.DEFINE_string, "less", "", "Steer away from this named feature (seed eq. 7).")
OLD_NAMES = {"like": "toward_item", "more": "boost", "less": "reduce"}
for _new, _old in OLD_NAMES.items():
    if _old not in flags.FLAGS:
        flags.DEFINE_alias(_old, _new)
define_once(flags.DEFINE_float, "strength", 0.5, "λ: for --like in [0, 1]; for --more / --less in "
            "units of the user's largest |affinity| entry.")
define_once(flags.DEFINE_integer, "k", 10, "How many items to recommend.")
define_once(flags.DEFINE_integer, "top_features", 8, "How many affinity entries to print (--json gives all).")
define_once(flags.DEFINE_integer, "epoch", -1, "I-TVBPR: the time epoch whose weights to use (negative: from the last).")
define_once(flags.DEFINE_enum, "checkpoint", "best", "Which checkpoint to load.", enum_values=["best", "latest"])
define_once(flags.DEFINE_bool, "json", False, "Print one JSON record instead of tables.")
FLAGS = flags.FLAGS


def steering_from_flags():
    """The steering steps [(kind, target)] the flags ask for: --like first, then --more or
    --less; UsageError for both --more and --less, or a step given twice (absl would keep the
    last silently, e.g. of `--boost a --more b`), or a step given empty (it steered nothing, and
    the unsteered list came with status 0)."""
    for name, old in OLD_NAMES.items():
        if FLAGS[name].present > 1:
            raise UsageError(f"--{name} (or its old name --{old}) is given {FLAGS[name].present} times: give it once")
    for name, wanted in (("like", "an item id, e.g. I123"), ("more", "a named feature, e.g. colour=black"),
                         ("less", "a named feature, e.g. colour=black")):
        if FLAGS[name].present and not FLAGS[name].value.strip():   # `--more "$FEATURE"`, unset
            raise UsageError(f"--{name} (or its old name --{OLD_NAMES[name]}) is empty: give {wanted}, "
                             "or leave the flag out")
    if FLAGS.more and FLAGS.less:
        raise UsageError("give one of --more, --less, not both")
    given = [(kind, value) for kind, value in (("like", FLAGS.like), ("more", FLAGS.more),
                                               ("less", FLAGS.less)) if value]
    return given


def session(trained, user_name, steps=(), strength=0.5, k=10, epoch=-1):
    """The record the command prints: affinity, the steering `steps` [(kind, target)] applied
    in order (kind like | more | less), top-k before and after."""
    from tfvisrec.models import interactive
    import numpy as np
    user = trained.user(user_name)
    affinity = trained.affinity(user, epoch)
    base, seen = trained.base_scores(user), trained.seen_items(user)
    steered, steering = affinity, []
    for kind, target in steps:
        if kind == "like":
            item = trained.item(target)
            steered = interactive.steer_toward_item(steered, trained.features.matrix[item], strength)
            steering.append({"kind": kind, "item": target, "strength": strength})
        elif kind in ("more", "less"):
            column = trained.feature(target)
            step = strength * float(np.max(np.abs(affinity)))
            step = step if kind == "more" else -step
            steered = interactive.steer_feature(steered, column, step)
            steering.append({"kind": kind, "feature": target, "strength": strength, "step": step})
        else:
            raise ValueError(f"unknown steering {kind!r}: like, more or less")
    steering = steering or None
    share = interactive.normalised_affinity(affinity, "l1")
    order = np.argsort(-np.abs(affinity), kind="stable")
    record = {
        "model": trained.model.registered_name, "user": user_name,
        "epoch": (epoch % trained.num_epochs) if trained.is_temporal else None,
        "affinity": [{"feature": trained.features.names[c], "weight": float(affinity[c]),
                      "share": float(share[c])} for c in order],
        "steering": steering,
        "before": _ranked(trained, affinity, base, seen, k),
    }
    if steering is not None:
        record["after"] = _ranked(trained, steered, base, seen, k)
        record["steered_affinity"] = {trained.features.names[c]: float(steered[c]) for c in order}
    return record


def _ranked(trained, affinity, base, seen, k):
    from tfvisrec.models import interactive
    import numpy as np
    scores = interactive.interpretable_scores(affinity, trained.features.matrix, base)
    k = min(k, scores.shape[0] - len(seen))
    telling = _telling_columns(trained.features.names)
    out = []
    for item in interactive.top_k(scores, k, exclude=seen):
        row = trained.features.matrix[item]
        strongest = telling[np.argsort(-row[telling], kind="stable")[:2]]
        out.append({"item": trained.dataset.item_ids[item], "score": float(scores[item]),
                    "looks": [f"{trained.features.names[c]} {row[c]:.2f}" for c in strongest]})
    return out


def _telling_columns(names):
    """The feature columns (`attribute=value`) of the attributes with two values or more: an
    attribute of one value (a shop of one brand) has it at 1.00 on every item and told nothing
    of an item's looks, yet topped every item's list."""
    import numpy as np
    attributes = [name.split("=", 1)[0] for name in names]
    telling = [c for c, attribute in enumerate(attributes) if attributes.count(attribute) > 1]
    return np.asarray(telling or range(len(names)), np.int64)


def format_tables(record, top_features=8) -> str:
    lines = [f"{record['model']} · user {record['user']}"
             + ("" if record["epoch"] is None else f" · epoch {record['epoch']}"),
             "", "affinity p_u (score per unit of feature; share of ‖p_u‖₁):"]
    width = max(len(a["feature"]) for a in record["affinity"][:top_features])
    for a in record["affinity"][:top_features]:
        lines.append(f"  {a['feature']:<{width}}  {a['weight']:+.4f}  {100 * a['share']:+6.1f} %")
    steering = record["steering"]
    if not steering:
        lines += ["", f"top {len(record['before'])}:"]
        lines += [f"  {r + 1:>3}  {row['item']:<14} {row['score']:8.4f}  {', '.join(row['looks'])}"
                  for r, row in enumerate(record["before"])]
        return "\n".join(lines)
    what = ", ".join(f"{s['kind']} {s.get('item') or s.get('feature')}" for s in steering)
    lines += ["", f"steering: {what} (strength {steering[0]['strength']})", ""]
    before_ids = {row["item"] for row in record["before"]}
    item_width = max(len(row["item"]) for row in record["before"] + record["after"])
    lines.append(f"  {'rank':>4}  {'before':<{item_width}} {'score':>8}   {'after':<{item_width}} {'score':>8}  looks (after)")
    for r, (b, a) in enumerate(zip(record["before"], record["after"])):
        new = "*" if a["item"] not in before_ids else " "
        lines.append(f"  {r + 1:>4}  {b['item']:<{item_width}} {b['score']:8.4f} {new} {a['item']:<{item_width}} "
                     f"{a['score']:8.4f}  {', '.join(a['looks'])}")
    lines.append("  (* = not in the list before steering)")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.model_dir or not FLAGS.user:
        raise UsageError("--model_dir and --user are required")
    if FLAGS.k < 1:
        raise UsageError("--k must be at least 1")
    steps = steering_from_flags()
    if FLAGS.like and not 0.0 <= FLAGS.strength <= 1.0:
        raise UsageError(f"--strength must lie in [0, 1] with --like, got {FLAGS.strength}")
    if not 0.0 <= FLAGS.strength < float("inf"):   # the direction is --more or --less, not the sign
        raise UsageError(f"--strength must be a finite number ≥ 0, got {FLAGS.strength}")
    if FLAGS["strength"].present and not steps:   # it would steer nothing, silently
        raise UsageError("--strength is the size of a steering step: give it with --like, --more or --less")
    if FLAGS.top_features < 1:
        raise UsageError(f"--top_features must be at least 1, got {FLAGS.top_features}")
    from tfvisrec.data.errors import DataError
    from tfvisrec.interpretable_run import load_interpretable_run
    try:
        trained = load_interpretable_run(FLAGS.model_dir, FLAGS.checkpoint)
        if FLAGS["epoch"].present and not trained.is_temporal:
            raise DataError(f"--epoch: this {trained.model.registered_name} run has no time epochs (itvbpr has)",
                            FLAGS.model_dir)
        record = session(trained, FLAGS.user, steps, FLAGS.strength, FLAGS.k, FLAGS.epoch)
    except (DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(record, indent=2) if FLAGS.json else format_tables(record, FLAGS.top_features))
    return 0


def run():
    run_command(main, interrupted="interrupted (this command writes nothing)")


if __name__ == "__main__":
    run()
