#!/usr/bin/env bash
# The refinement driver shared by every egs/*/refine1 recipe: after the recipe's own data and seed stages, run
# `asrkit refine` for each arm and seed, score every round on the test set, and gather the table. Run from a recipe
# dir:
#     refine.sh --refine_config conf/refine.yaml --test_set test --labels data/local/unlabeled_labels.txt "$@"
# Stages (numbered after the recipe's own, from 10):
#   10. asrkit refine run per arm and seed -> exp/refine/<arm>_s<seed>/round{r}/ (its YAML: the config with `arm:` and
#       `seed:` replaced, exp/refine/<arm>_s<seed>/refine.yaml)
#   11. scoring after the fact, with what refine never reads: the test WER of the seed (exp/refine/seed/round0/) and
#       of every round's model (round{r}/test_<set>/), and the pseudo-label precision by acceptance against the hidden
#       labels (asrkit refine curve -> round{r}/curve/)
#   12. exp/refine/table.md and wer_by_round.png (asrkit refine table)
set -euo pipefail

stage=10
stop_stage=100
refine_config=conf/refine.yaml
arms="twister self_training twister_self_training topline twister_true_labels"
seeds="0"                     # refine seeds (mix sample, jitter, perturbation); the table has one row per arm and seed
test_set=test                 # labelled data dir data/<test_set>, scored after the fact
labels=                       # the unlabeled set's true labels (Kaldi text), for the precision curve
decode_config=conf/decode.yaml
help_message="Usage: $0 [options]   (see the variables at the top of bin/refine.sh)"

. parse_options.sh
. ./cmd.sh

seed_exp=$(sed -n 's/^seed_exp: *\([^ #]*\).*/\1/p' "${refine_config}")
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (refine.sh) $*"; }

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ]; then
  for arm in ${arms}; do
    for seed in ${seeds}; do
      dir=exp/refine/${arm}_s${seed}
      log "Stage 10: asrkit refine run -> ${dir}"
      mkdir -p "${dir}"
      sed -e "s/^arm: [a-z_]*/arm: ${arm}/" -e "s/^seed: [0-9]*/seed: ${seed}/" "${refine_config}" > "${dir}/refine.yaml"
      ${cuda_cmd} --gpu 0 "${dir}/refine.out" asrkit refine run --out-dir "${dir}" "${dir}/refine.yaml"
    done
  done
fi

if [ ${stage} -le 11 ] && [ ${stop_stage} -ge 11 ]; then
  log "Stage 11: ${test_set} WER of the seed and of every round; pseudo-label precision against ${labels}"
  score() {  # score EXP DIR: decode data/${test_set} with EXP into DIR, and score it
    asrkit decode --config "${decode_config}" "$1" "data/${test_set}" "$2"
    asrkit score "$2" "data/${test_set}"
  }
  score "${seed_exp}" "exp/refine/seed/round0/${test_set}"
  for arm in ${arms}; do
    for seed in ${seeds}; do
      for round_dir in exp/refine/${arm}_s${seed}/round*; do
        [ -f "${round_dir}/finetune/done.json" ] || continue
        score "${round_dir}/finetune/asr" "${round_dir}/${test_set}"
        if [ -n "${labels}" ] && [ -d "${round_dir}/labels/decode" ]; then
          asrkit refine curve "${round_dir}/labels" "${labels}" "${round_dir}/curve"
        fi
      done
    done
  done
fi

if [ ${stage} -le 12 ] && [ ${stop_stage} -ge 12 ]; then
  log "Stage 12: exp/refine/table.md"
  asrkit refine table exp/refine
  cat exp/refine/table.md
fi
log "Successfully finished"
