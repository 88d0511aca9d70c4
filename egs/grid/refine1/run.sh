#!/usr/bin/env bash
# Twister self-refinement (asrkit refine) of the general English model of egs/lj_synth towards GRID speaker s1.
#   1. data: ../asr1/local/data.sh (900 train = the unlabeled set, 50 dev, 50 test), target grammar sentences
#   2. the seed: ../../lj_synth/asr1's char model (its run.sh when absent: about an hour and a half on 2 cores)
#   10-12. bin/refine.sh: asrkit refine per arm and seed, test WER of every round and pseudo-label precision
#      against the hidden labels, exp/refine/table.md and wer_by_round.png
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

stage=1
stop_stage=100
refine_data_opts=""            # options of local/refine_data.sh, e.g. "--n_target 2000"
arms="twister self_training twister_self_training topline twister_true_labels"   # bin/refine.sh's
seeds="0 1 2"                  # bin/refine.sh's refine seeds
help_message="Usage: $0 [--stage N] [--stop_stage N] [--refine_data_opts '...'] [--arms '...'] [--seeds '0 1 2']"
. parse_options.sh

seed_exp=$(sed -n 's/^seed_exp: *\([^ #]*\).*/\1/p' conf/refine.yaml)
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (grid/refine1) $*"; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: data"
  local/data.sh --trim_db 0   # whole recordings: the fine-tuning mix (asrkit/refine/mix.py) takes no segments
  eval local/refine_data.sh ${refine_data_opts}
  for dset in train dev test; do asrkit validate-data "data/${dset}"; done
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ] && [ ! -f "${seed_exp}/valid.acc.ave.pth" ]; then
  log "Stage 2: ${seed_exp} is absent: running ../../lj_synth/asr1/run.sh"
  ../../lj_synth/asr1/run.sh
fi

refine.sh --stage $((stage > 10 ? stage : 10)) --stop_stage ${stop_stage} --refine_config conf/refine.yaml \
  --arms "${arms}" --seeds "${seeds}" --test_set test --labels data/local/unlabeled_labels.txt
