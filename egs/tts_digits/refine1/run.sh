#!/usr/bin/env bash
# Twister self-refinement (asrkit refine) of the synthetic-digit model towards real FSDD speech: a diagnostic.
#   1. the seed: ../asr1's synthetic digits, char tokens, band-limited (8 kHz) features (asr.sh) -> exp/asr_seed
#   2. refinement data: FSDD unlabeled / dev, target digit strings (local/refine_data.sh)
#   10-12. bin/refine.sh: asrkit refine per arm, test_fsdd WER of every round and pseudo-label precision against the
#      hidden labels, exp/refine/table.md
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

stage=1
stop_stage=100
seed_data_opts=""              # options of ../asr1/local/data.sh (conf/data.conf), e.g. "--n_train 200"
seed_config=conf/seed.yaml
refine_data_opts=""            # options of local/refine_data.sh, e.g. "--unlabeled_takes '10 11' --n_target 100"
arms="twister self_training twister_self_training topline twister_true_labels"   # bin/refine.sh's
seeds="0"                      # bin/refine.sh's refine seeds
help_message="Usage: $0 [--stage N] [--stop_stage N] [--seed_data_opts '...'] [--refine_data_opts '...'] [--arms '...'] [--seeds '0 1 2']"
. parse_options.sh

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (refine1) $*"; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: the seed exp/asr_seed (asr.sh)"
  asr.sh --train_set train --valid_set dev --test_sets test_fsdd --token_type char --fbank_config conf/fbank.yaml \
    --asr_config "${seed_config}" --asr_tag seed --decode_config conf/decode.yaml --local_data_opts "${seed_data_opts}"
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  log "Stage 2: refinement data"
  eval local/refine_data.sh ${refine_data_opts}
  for dset in fsdd_unlabeled fsdd_dev; do asrkit validate-data "data/${dset}"; done
fi

refine.sh --stage $((stage > 10 ? stage : 10)) --stop_stage ${stop_stage} --refine_config conf/refine.yaml \
  --arms "${arms}" --seeds "${seeds}" --test_set test_fsdd --labels data/local/unlabeled_labels.txt
