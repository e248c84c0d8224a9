"""PAN Table 2 on an outfit dataset: the ablation rows (FHN = None, UL, UL + HN, UL + HN + AN =
PAN) and the non-personal compatibility baseline (FHN with α = 0), each trained with its
flagfile by the shared trainer, evaluated by the `outfits` protocol on the test split.

    python -m tfvisrec.data outfits_synthetic --out data/outfits-synthetic
    python bench/outfits_table2.py --dataset data/outfits-synthetic --runs runs/outfits

Prints one row per model: personal AUC / NDCG@10 (a user's outfits against other users'),
random AUC (against mixed outfits) and FITB, with real-valued and binary codes, and FITB
scored by each term of eq. 4 alone (g: general compatibility; p: the user's score); adds the
rows to <runs>/table2.json (the rows and seeds earlier runs wrote there are kept). Every row is
trained once per seed of `--seeds` (default three; runs in <runs>/seed<N>/; `--seeds ""` = the
flagfiles' own seed, once) and the table shows
the mean ± the standard deviation between seeds, then whether the four ablation rows improve
in order (each step's gain against the spread of the two rows, and paired by seed ± its
standard error). On the synthetic outfit
world (its `outfit_truth.npz`) it adds the world's oracle (true compatibility, then true
taste; its "g only" = compatibility alone, its "p only" = taste alone: the ceilings of each
term, `tfvisrec/evaluation/outfit_oracle.py`) and reports where PAN's spatial attention (eq. 3) looks, for every (test user, item)
pair: the share of the attention mass on the item's detail region (the region that drives
the shoppers' taste) and how often that region gets the largest weight, against the
1 / (H·W) of a uniform look.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (Keras 2 before TensorFlow)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = (("compatibility only (fhn, α = 0)", "fhn", {"alpha": 0.0}),
        ("None (fhn)", "fhn", {}),
        ("UL (pan_ul)", "pan_ul", {}),
        ("UL + HN (pan_ul_hn)", "pan_ul_hn", {}),
        ("UL + HN + AN (pan)", "pan", {}))
ORACLE = "oracle (the world's truth; g only: compatibility, p only: taste)"
COLUMNS = ("real/personal/auc", "real/personal/ndcg@10", "real/random/auc", "real/fitb/accuracy",
           "real/fitb/g_only", "real/fitb/p_only",
           "binary/personal/auc", "binary/personal/ndcg@10", "binary/fitb/accuracy")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--runs", default="runs/outfits")
    p.add_argument("--epochs", type=int, default=0, help="override the flagfiles' --epochs")
    p.add_argument("--patience", type=int, default=-1,
                   help="override the flagfiles' --patience (0: every row trains all its epochs; "
                        "the best validation epoch's weights are evaluated)")
    p.add_argument("--pan_kernels", default="",
                   help="comma-separated spatial kernel sizes k: one more PAN row each (eq. 3's k×k "
                        "convolution; the flagfile's is the paper's 7)")
    p.add_argument("--pan_attention_user_l2", default="",
                   help="comma-separated values: one more PAN row each with that L2 weight on the "
                        "attention's user projections W_cu, W_su (the flagfile's: 0.1; 0: eq. 2-3 unchecked)")
    p.add_argument("--hard_bands", default="",
                   help="comma-separated SKIP-K bands: one more UL + HN and one more PAN row each, whose hard "
                        "negatives come from the ⌈K · B⌉ users nearest in code less the ⌊SKIP · B⌋ nearest "
                        "(the flagfiles': 0.25-0.75; 0-1: any other user of the batch)")
    p.add_argument("--models", default="fhn,pan_ul,pan_ul_hn,pan",
                   help="comma-separated flagfile names: train only these rows (empty: the oracle alone)")
    p.add_argument("--variants_only", action="store_true",
                   help="train only the rows that --pan_kernels, --pan_attention_user_l2 and --hard_bands add")
    p.add_argument("--seeds", default="42,43,44", help="comma-separated seeds; empty: the flagfiles' own, once")
    args = p.parse_args(argv)
    import numpy as np
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.outfits import load_outfits
    from tfvisrec.evaluation.outfit_oracle import WorldOracle
    from tfvisrec.evaluation.outfits import evaluate_outfits
    from tfvisrec.models.model_flags import configs_from_flagfile
    from tfvisrec.training.loop import fit
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [None]
    results = {}
    rows = ROWS + tuple((f"UL + HN + AN (pan, {k}×{k} spatial kernel)", "pan", {"spatial_kernel": int(k)})
                        for k in args.pan_kernels.split(",") if k)
    rows += tuple((f"UL + HN + AN (pan, attention_user_l2 = {v})", "pan", {"attention_user_l2": float(v)})
                  for v in args.pan_attention_user_l2.split(",") if v)
    bands = [band for band in args.hard_bands.split(",") if band]
    if any(not re.fullmatch(r"[0-9.]+-[0-9.]+", band) for band in bands):
        p.error(f"--hard_bands: SKIP-K pairs such as 0.25-0.75, got {args.hard_bands!r}")
    rows += tuple((f"{label.split(' (')[0]} ({name}, ranks {band})", name,
                   dict(zip(("hard_skip_ratio", "hard_k_ratio"), map(float, band.split("-")))))
                  for band in bands for label, name, overrides in ROWS if name in ("pan_ul_hn", "pan"))
    models = {m for m in args.models.split(",") if m}
    unknown = models - {name for _, name, _ in ROWS}
    if unknown:
        p.error(f"--models: no row trains {sorted(unknown)}; rows: {sorted({name for _, name, _ in ROWS})}")
    dataset = load_dataset(args.dataset)
    table = load_outfits(dataset)
    for label, name, overrides in [row for row in rows if row[1] in models and not (args.variants_only and row in ROWS)]:
        for seed in seeds:
            extra = {"epochs": args.epochs} if args.epochs else {}
            if args.patience >= 0:
                extra["patience"] = args.patience
            runs = args.runs if seed is None else os.path.join(args.runs, f"seed{seed}")
            model_dir = os.path.join(runs, name + "".join(f"_{k}{v:g}" for k, v in overrides.items()))
            if seed is not None:
                extra["seed"] = seed
            model_config, train_config = configs_from_flagfile(
                os.path.join(REPO_ROOT, "configs", f"{name}.cfg"), dataset=args.dataset,
                model_dir=model_dir, verbose=2, **overrides, **extra)
            model, summary = fit(model_config, train_config, dataset=dataset)
            run = {**evaluate_outfits(model, table, split="test"),
                   "epochs": summary["epochs_completed"], "train_seconds": summary["train_seconds"],
                   "valid": evaluate_outfits(model, table, split="valid")}
            truth = os.path.join(args.dataset, "outfit_truth.npz")
            if model.uses_hard_negatives and os.path.exists(truth):
                run["hard_negative_pool"] = hard_negative_pool(model, truth)
            if model.uses_attention and os.path.exists(truth):
                run["attention_on_detail"] = attention_on_detail(model, table, truth)
                print(f"{label}: spatial attention mass on the detail region {run['attention_on_detail']}")
            results.setdefault(label, {})[str(seed) if seed is not None else "flagfile"] = run
    truth = os.path.join(args.dataset, "outfit_truth.npz")
    if os.path.exists(truth):
        results[ORACLE] = {"truth": evaluate_outfits(WorldOracle(truth), table, split="test")}
    print(markdown_table(results))
    print(order_verdict(results))
    print("validation split (what choices are made on):")
    print(markdown_table({label: {seed: run["valid"] for seed, run in runs.items() if "valid" in run}
                          for label, runs in results.items() if label != ORACLE}))
    for label, runs in results.items():
        pools = [r["hard_negative_pool"] for r in runs.values() if "hard_negative_pool" in r]
        if pools:
            print(f"{label}: of the others ranked {pools[0]['skip_ratio']:g}-{pools[0]['k_ratio']:g} nearest in code "
                  f"to each shopper (the hard negatives' pool), {np.mean([p['shares_taste'] for p in pools]):.4f} like a detail she likes; "
                  f"of all others {pools[0]['any_other']:.4f} ({len(pools)} run(s))")
        attention = [r["attention_on_detail"] for r in runs.values() if "attention_on_detail" in r]
        if attention:
            print(f"{label}: {attention_summary(attention)}")
    os.makedirs(args.runs, exist_ok=True)
    add_to_table_file(os.path.join(args.runs, "table2.json"), results)


def add_to_table_file(path, results):
    """Write `results` ({row label: {seed: run}}) into the JSON table at `path`, keeping the rows
    and seeds of earlier invocations that this one did not train (a `--variants_only` or
    `--models` run adds to the full table instead of replacing it)."""
    import json
    from tfvisrec.atomic import write_json
    table = {}
    if os.path.exists(path):
        with open(path) as f:
            table = json.load(f)
    for label, runs in results.items():
        table[label] = {**table.get(label, {}), **runs}
    write_json(path, table)


def _values(runs, column):
    import numpy as np
    return np.asarray([r[column] for r in runs.values() if column in r], np.float64)


def _mean_sd(values):
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def markdown_table(results) -> str:
    """One row per model: each column's mean over the seeds (± their standard deviation when > 1)."""
    lines = ["| model | " + " | ".join(COLUMNS) + " | epochs |", "|---" * (len(COLUMNS) + 2) + "|"]
    for label, runs in results.items():
        cells = []
        for column in list(COLUMNS) + ["epochs"]:
            values = _values(runs, column)
            if column == "epochs":
                cells.append("/".join(str(int(v)) for v in values) or "–")
                continue
            mean, sd = _mean_sd(values)
            cells.append(f"{mean:.4f}" + (f" ± {sd:.4f}" if len(values) > 1 else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def order_verdict(results, columns=("real/personal/auc", "real/fitb/accuracy")) -> str:
    """Whether None → UL → UL + HN → UL + HN + AN improve, per column: each step's change of
    the mean, "within noise" when it is no larger than the larger standard deviation of the two
    rows; with two or more seeds in both rows also the change paired by seed, ± its standard
    error (the seed fixes the initial weights and batches, so the pairs share their luck)."""
    import numpy as np
    ablation = [label for label, name, overrides in ROWS if not overrides and label in results]
    lines = []
    for column in columns:
        steps = []
        for before, after in zip(ablation, ablation[1:]):
            (m0, s0), (m1, s1) = _mean_sd(_values(results[before], column)), _mean_sd(_values(results[after], column))
            verdict = ("up" if m1 > m0 else "down") + (" within noise" if abs(m1 - m0) <= max(s0, s1) else "")
            seeds = [s for s in results[before] if s in results[after]
                     and column in results[before][s] and column in results[after][s]]
            if len(seeds) > 1:
                paired = np.asarray([results[after][s][column] - results[before][s][column] for s in seeds])
                standard_error = paired.std(ddof=1) / np.sqrt(len(seeds))
                verdict += f"; paired {paired.mean():+.4f} ± {standard_error:.4f} SE over {len(seeds)} seeds"
            steps.append(f"{after.split(' (')[0]} {m1 - m0:+.4f} ({verdict})")
        lines.append(f"{column}: " + ", ".join(steps))
    return "\n".join(lines)


def attention_summary(attention) -> str:
    import numpy as np
    share = np.asarray([a["mass_share"] for a in attention])
    top = np.asarray([a["argmax_rate"] for a in attention])
    sd = (lambda v: float(v.std(ddof=1)) if len(v) > 1 else 0.0)
    return (f"spatial attention on the taste (detail) region, {len(attention)} run(s): mass share "
            f"{share.mean():.4f} ± {sd(share):.4f}, largest weight there {top.mean():.4f} ± {sd(top):.4f} "
            f"of the time; a uniform look: {attention[0]['uniform']:.4f} for both")


def hard_negative_pool(model, truth_path, rng_seed=0):
    """Of each shopper's ⌈k · (n − 1)⌉ nearest other shoppers in code less the ⌊skip · (n − 1)⌋
    nearest (the miner's Hamming distance between the users' binary codes; k, skip = the
    model's `hard_k_ratio`, `hard_skip_ratio`; ties in random order), the share who like one of
    the details she likes, whose outfits are then partly false hard negatives; beside that share
    over all other shoppers."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.models.pan_layers import relaxed_code
    from tfvisrec.models.pan_negatives import hamming_distances
    with np.load(truth_path) as z:
        taste = z["taste"].astype(np.float64)
    shares = (taste @ taste.T) > 0
    codes = relaxed_code(tf.constant(np.asarray(model.user_embedding, np.float32)), 1.0, binary=True)
    distance = hamming_distances(codes).numpy().astype(np.float64)
    n = len(distance)
    np.fill_diagonal(distance, np.inf)
    tie_break = np.random.default_rng(rng_seed).random(distance.shape)
    skip, k = model.config.hard_skip_ratio, model.config.hard_k_ratio
    band = np.lexsort((tie_break, distance), axis=1)[:, int(np.floor(skip * (n - 1))):int(np.ceil(k * (n - 1)))]
    others = ~np.eye(n, dtype=bool)
    return {"k_ratio": float(k), "skip_ratio": float(skip),
            "shares_taste": float(np.take_along_axis(shares, band, axis=1).mean()),
            "any_other": float(shares[others].mean())}


def attention_on_detail(model, table, truth_path):
    """Where PAN's spatial attention looks, over (test user, item) pairs: the mean share of its
    mass on the item's detail cell and how often that cell gets the largest weight, beside
    a uniform look (1 / (H·W) for both)."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.models.pan_layers import relaxed_code
    with np.load(truth_path) as z:
        detail_cell = z["detail_cell"]
    maps = model.item_maps.lookup(tf.range(len(detail_cell)))   # fixed or end-to-end maps alike
    h, w = int(maps.shape[1]), int(maps.shape[2])
    shares, top = [], []
    for u in np.unique(table.positives["test"].users):
        codes = tf.repeat(relaxed_code(tf.gather(model.user_embedding, [u]), model.slope), maps.shape[0], axis=0)
        looked, _ = model.channel_attention(maps, codes)
        _, spatial = model.spatial_attention(looked, codes)
        weights = tf.reshape(spatial, [-1, h * w]).numpy()
        shares.append(weights[np.arange(len(weights)), detail_cell] / weights.sum(axis=1))
        top.append(np.argmax(weights, axis=1) == detail_cell)
    return {"mass_share": float(np.mean(shares)), "argmax_rate": float(np.mean(top)),
            "uniform": 1.0 / (h * w)}


if __name__ == "__main__":
    main()
