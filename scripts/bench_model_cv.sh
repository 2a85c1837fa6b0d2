#!/usr/bin/env bash
# `panorama model cv` beside LightGBM (gbdt) and scikit-learn (logistic) on
# the same seeded tables, in one run, interleaved: each tool's fit time over
# 5 folds as it reports it, the whole command's wall time, the mean AUC,
# and the ratios. Needs the release binary and `pip install lightgbm
# scikit-learn pandas`.
#
# usage: scripts/bench_model_cv.sh [ROUNDS]   (default 3; tables in $BENCH_DIR, default /tmp/panorama-cv)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
dir="${BENCH_DIR:-/tmp/panorama-cv}"
bin="${PANORAMA_BIN:-target/release/panorama}"
mkdir -p "$dir"
[ -f "$dir/bankish.csv" ] || python3 scripts/make_bankish.py "$dir/bankish.csv"
[ -f "$dir/bank_marketing.csv" ] || python3 scripts/make_bank_marketing.py "$dir/bank_marketing.csv"
[ -f "$dir/credit_default.csv" ] || python3 scripts/make_credit_default.py "$dir/credit_default.csv"

# name file target positive separator drop
tables=(
  "bankish bankish.csv y yes ; id"
  "bank_marketing bank_marketing.csv y yes ; -"
  "credit_default credit_default.csv default 1 , ID"
)

seconds() { sed -n 's/^training \([0-9.]*\) s.*/\1/p' | tail -1; }
auc() { sed -n 's/^auc=//p' | tail -1; }

printf '%-15s %-9s %10s %10s %8s %8s %8s %8s %7s %7s\n' table learner ours_fit ref_fit fit_x ours_wall ref_wall wall_x our_auc ref_auc
for row in "${tables[@]}"; do
  read -r name file target positive sep drop <<<"$row"
  dropflag=(); dropref=()
  if [ "$drop" != "-" ]; then dropflag=(--drop "$drop"); dropref=("$drop"); fi
  for learner in gbdt logistic; do
    ref=scripts/lightgbm_cv.py; [ "$learner" = logistic ] && ref=scripts/sklearn_cv.py
    best_ours=""; best_ref=""; wall_ours=""; wall_ref=""
    for _ in $(seq "$rounds"); do
      start=$(date +%s.%N)
      out=$("$bin" model cv --csv "$dir/$file" --target "$target" --sep "$sep" "${dropflag[@]}" --learner "$learner" 2>&1)
      w=$(echo "$(date +%s.%N) - $start" | bc)
      s=$(echo "$out" | seconds); a=$(echo "$out" | auc)
      start=$(date +%s.%N)
      rout=$(python3 "$ref" "$dir/$file" "$target" "$positive" "$sep" "${dropref[@]}" 2>&1)
      rw=$(echo "$(date +%s.%N) - $start" | bc)
      rs=$(echo "$rout" | seconds); ra=$(echo "$rout" | auc)
      # The fastest of the rounds, each tool's own.
      if [ -z "$best_ours" ] || (( $(echo "$s < $best_ours" | bc) )); then best_ours=$s; fi
      if [ -z "$best_ref" ] || (( $(echo "$rs < $best_ref" | bc) )); then best_ref=$rs; fi
      if [ -z "$wall_ours" ] || (( $(echo "$w < $wall_ours" | bc) )); then wall_ours=$w; fi
      if [ -z "$wall_ref" ] || (( $(echo "$rw < $wall_ref" | bc) )); then wall_ref=$rw; fi
    done
    printf '%-15s %-9s %10.3f %10.3f %8.2f %8.2f %8.2f %8.2f %7s %7s\n' "$name" "$learner" \
      "$best_ours" "$best_ref" "$(echo "$best_ours / $best_ref" | bc -l)" \
      "$wall_ours" "$wall_ref" "$(echo "$wall_ours / $wall_ref" | bc -l)" "$a" "$ra"
  done
done
