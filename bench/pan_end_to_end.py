"""PAN on fixed feature maps against PAN with its backbone trained end to end, on the synthetic
outfit world drawn as photos (`tests/outfit_photo_world.py`: 32 px, each item its colour with its
detail's colour in its detail cell; the fixed maps are those of an untrained CNN-F, the same
weights the end-to-end run starts from).

    python bench/pan_end_to_end.py [--users 24 --items_per_slot 12 --outfits_per_user 10 --epochs 6]

Trains `configs/pan.cfg` and `configs/pan_end_to_end.cfg` (the world's 32 px CNN-F: --image_size
32 --fc_width 16, its classifier as --backbone_weights) through the shared loop for --epochs
and prints the test split's personal AUC, random AUC and FITB (real-valued codes) and the time
of each run.
"""
import argparse
import os
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--items_per_slot", type=int, default=12)
    parser.add_argument("--outfits_per_user", type=int, default=10, help="of which 1 validation, 2 test")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=3, help="the world's seed")
    parser.add_argument("--code_dim", type=int, default=16)
    parser.add_argument("--backbone_lr_scale", type=float, default=0.01)
    args = parser.parse_args()

    from outfit_photo_world import PHOTO_SIZE, make_outfit_photo_world
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.outfits import load_outfits
    from tfvisrec.evaluation.outfits import evaluate_outfits
    from tfvisrec.models.model_flags import configs_from_flagfile
    from tfvisrec.training.loop import fit

    root = tempfile.mkdtemp(prefix="pan_end_to_end-")
    world = make_outfit_photo_world(root, num_users=args.users, items_per_slot=args.items_per_slot,
                                    outfits_per_user=args.outfits_per_user, valid_per_user=1, test_per_user=2,
                                    candidates=60, seed=args.seed)
    dataset = load_dataset(world.dataset_dir)
    table = load_outfits(dataset)
    print(f"photo world: {dataset.num_users} shoppers, {dataset.num_items} items, "
          f"{len(table.positives['train'])} training outfits")
    runs = {
        "fixed": ("pan.cfg", {}),
        "end_to_end": ("pan_end_to_end.cfg", dict(backbone_weights=world.backbone, image_size=PHOTO_SIZE,
                                                  fc_width=16, backbone_lr_scale=args.backbone_lr_scale)),
    }
    print("| backbone | personal AUC | random AUC | FITB | seconds |\n|---|---|---|---|---|")
    for name, (flagfile, overrides) in runs.items():
        model_config, train_config = configs_from_flagfile(
            os.path.join(REPO_ROOT, "configs", flagfile), dataset=dataset.path, model_dir=os.path.join(root, name),
            epochs=args.epochs, batch_size=32, patience=0, eval_every_epochs=args.epochs, verbose=0,
            code_dim=args.code_dim, **overrides)
        started = time.time()
        model, _ = fit(model_config, train_config, dataset=dataset)
        result = evaluate_outfits(model, table, split="test")
        print(f"| {name} | {result['real/personal/auc']:.3f} | {result['real/random/auc']:.3f} | "
              f"{result['real/fitb/accuracy']:.3f} | {time.time() - started:.0f} |", flush=True)


if __name__ == "__main__":
    main()
