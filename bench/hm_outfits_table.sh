#!/bin/bash
# PAN Table 2 on the H&M outfits (issue 13, acceptance 3), the whole chain from the photos:
# slot accuracy of the classifier (held out), outfit counts per slot source, the outfit
# dataset with the unlabelled articles' slots predicted from their photo, its feature maps,
# and the table (FHN, the ablation rows, PAN; real and binary codes; mean over seeds).
#
#   bench/hm_outfits_table.sh CLASSIFIER CATALOGUE WORK [MIN_CONFIDENCE] [SEEDS] [EPOCHS]
#
# CLASSIFIER: the H&M attribute classifier's run (configs/hm_attributes.cfg), CATALOGUE: the
# hm_catalogue dataset it trained on (its test split is held out), WORK: a new folder for the
# outputs. HM defaults to ../shared/data/hm. Everything runs at the lowest priority.
set -euo pipefail
CLASSIFIER=$1 CATALOGUE=$2 WORK=$3 MIN_CONFIDENCE=${4:-0.5} SEEDS=${5:-42,43} EPOCHS=${6:-15}
HM=${HM:-../shared/data/hm}
BENCH=$(cd "$(dirname "$0")" && pwd)
run() { echo "=== $(date -u +%H:%M:%S) $*" >&2; nice -n 19 "$@"; }
mkdir -p "$WORK"
run python "$BENCH/hm_slot_accuracy.py" --catalogue "$CATALOGUE" --classifier "$CLASSIFIER" --hm_dir "$HM" \
  --thresholds "0,$MIN_CONFIDENCE,0.7,0.9" | tee "$WORK/slot_accuracy.md"
run python -m tfvisrec.data hm_outfits --hm_dir "$HM" --out "$WORK/outfits" --slot_classifier "$CLASSIFIER" \
  --slot_min_confidence "$MIN_CONFIDENCE" --noprogress
run python "$BENCH/hm_outfit_counts.py" --hm_dir "$HM" --windows 1,30 \
  --slot_predictions "$WORK/outfits/slot_predictions.npz" --min_confidence "0,$MIN_CONFIDENCE,0.7,0.9" \
  | tee "$WORK/counts.txt"
run python -m tfvisrec.vision.features --backbone_weights "$CLASSIFIER" --dataset "$WORK/outfits" --feature_maps
run python "$BENCH/outfits_table2.py" --dataset "$WORK/outfits" --runs "$WORK/runs" --epochs "$EPOCHS" \
  --seeds "$SEEDS" | tee "$WORK/table2.log" | grep '^|' > "$WORK/table2.md"
cat "$WORK/table2.md"
