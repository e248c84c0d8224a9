"""PAN Table 2 on an outfit dataset: the ablation rows (FHN = None, UL, UL + HN, UL + HN + AN =
PAN) and the non-personal compatibility baseline (FHN with α = 0), each trained with its
flagfile by the shared trainer, evaluated by the `outfits` protocol on the test split.

    python -m tfvisrec.data outfits_synthetic --out data/outfits-synthetic
    python bench/outfits_table2.py --dataset data/outfits-synthetic --runs runs/outfits

Prints one row per model: personal AUC / NDCG@10 (a user's outfits against other users'),
random AUC (against mixed outfits) and FITB, with real-valued and binary codes; writes the
table to <runs>/table2.json. With `--seeds 42,43` every row is trained once per seed (runs in
<runs>/seed<N>/) and the table shows the mean, with half the range between seeds after ±. On the synthetic outfit world (its `outfit_truth.npz`) it also
reports where PAN's spatial attention (eq. 3) looks: the mean share of the attention mass on
each item's detail region (the region that drives the shoppers' taste), for every (test
user, item) pair, against the 1 / (H·W) of a uniform look.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (Keras 2 before TensorFlow)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = (("compatibility only (fhn, α = 0)", "fhn", {"alpha": 0.0}),
        ("None (fhn)", "fhn", {}),
        ("UL (pan_ul)", "pan_ul", {}),
        ("UL + HN (pan_ul_hn)", "pan_ul_hn", {}),
        ("UL + HN + AN (pan)", "pan", {}))
COLUMNS = ("real/personal/auc", "real/personal/ndcg@10", "real/random/auc", "real/fitb/accuracy",
           "binary/personal/auc", "binary/personal/ndcg@10", "binary/fitb/accuracy")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--runs", default="runs/outfits")
    p.add_argument("--epochs", type=int, default=0, help="override the flagfiles' --epochs")
    p.add_argument("--seeds", default="", help="comma-separated seeds (default: the flagfiles' own)")
    args = p.parse_args(argv)
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.outfits import load_outfits
    from tfvisrec.evaluation.outfits import evaluate_outfits
    from tfvisrec.models.model_flags import configs_from_flagfile
    from tfvisrec.training.loop import fit
    dataset = load_dataset(args.dataset)
    table = load_outfits(dataset)
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [None]
    results = {}
    for label, name, overrides in ROWS:
        for seed in seeds:
            extra = {"epochs": args.epochs} if args.epochs else {}
            runs = args.runs if seed is None else os.path.join(args.runs, f"seed{seed}")
            model_dir = os.path.join(runs, name + ("_alpha0" if overrides else ""))
            if seed is not None:
                extra["seed"] = seed
            model_config, train_config = configs_from_flagfile(
                os.path.join(REPO_ROOT, "configs", f"{name}.cfg"), dataset=args.dataset,
                model_dir=model_dir, verbose=2, **overrides, **extra)
            model, summary = fit(model_config, train_config, dataset=dataset)
            run = {**evaluate_outfits(model, table, split="test"),
                   "epochs": summary["epochs_completed"], "train_seconds": summary["train_seconds"]}
            truth = os.path.join(args.dataset, "outfit_truth.npz")
            if model.uses_attention and os.path.exists(truth):
                run["attention_on_detail"] = attention_on_detail(model, table, truth)
                print(f"{label}: spatial attention mass on the detail region {run['attention_on_detail']}")
            results.setdefault(label, {})[str(seed) if seed is not None else "flagfile"] = run
    print(markdown_table(results))
    os.makedirs(args.runs, exist_ok=True)
    from tfvisrec.atomic import write_json
    write_json(os.path.join(args.runs, "table2.json"), results)


def markdown_table(results) -> str:
    """One row per model: each column's mean over the seeds (± half their range when > 1)."""
    import numpy as np
    lines = ["| model | " + " | ".join(COLUMNS) + " | epochs |", "|---" * (len(COLUMNS) + 2) + "|"]
    for label, runs in results.items():
        cells = []
        for column in list(COLUMNS) + ["epochs"]:
            values = np.asarray([r[column] for r in runs.values()], np.float64)
            text = f"{values.mean():.4f}" if column != "epochs" else "/".join(str(int(v)) for v in values)
            if len(values) > 1 and column != "epochs":
                text += f" ± {(values.max() - values.min()) / 2:.4f}"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def attention_on_detail(model, table, truth_path):
    """Where PAN's spatial attention looks, over (test user, item) pairs: the mean share of its
    mass on the item's detail cell and how often that cell gets the largest weight, beside
    a uniform look (1 / (H·W) for both)."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.models.pan_layers import relaxed_code
    with np.load(truth_path) as z:
        detail_cell = z["detail_cell"]
    maps = model.maps
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
