#!/usr/bin/env bash
# Omni-AVSR on GRID speaker s1 (issue 15): audio + face video of 1000 six-word commands. The video half:
#   1. data (../asr1/local/data.sh: 900 train / 50 dev / 50 test, with video.scp) and video checks
#   2. mouth-ROI features (asrkit video-roi, conf/roi.yaml): data/<set>/roi.scp
#   3. word token list
#   4. VSR encoder pretraining (asrkit train, conf/train_vsr.yaml: 3-D conv + ResNet front-end, Conformer)
#   5. VSR decoding alone (asrkit decode) and scoring
#   6. encoder outputs cached for the LLM stages: this VSR encoder's and ../asr1's audio encoder's, every set
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

stage=1
stop_stage=100
nj=2                                 # parallel jobs for ROI features, decoding and caching
roi_config=conf/roi.yaml
vsr_config=conf/train_vsr.yaml
decode_config=conf/decode.yaml
asr_exp=../asr1/exp/asr_train        # the frozen audio encoder (any asr exp dir; ../asr1/run.sh trains this one)
sets="train dev test"
test_sets="dev test"
help_message="Usage: $0 [--stage N] [--stop_stage N] [--nj N] [--vsr_config YAML] [--asr_exp DIR]"
. parse_options.sh
. ./cmd.sh

vsr_exp=exp/vsr_$(basename "${vsr_config}" .yaml)
decode_dir=decode_$(basename "${decode_config}" .yaml)_valid.acc.ave
token_dir=data/token_list/word
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (avsr1) $*"; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: data preparation (audio + video) and checks"
  local/data.sh
  for dset in ${sets}; do
    asrkit validate-data --check-video "data/${dset}"
  done
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  log "Stage 2: mouth-ROI features (${roi_config})"
  for dset in ${sets}; do
    ${train_cmd} --num-threads 1 JOB=1:${nj} "exp/make_roi/${dset}/roi.JOB.log" \
      asrkit video-roi --config "${roi_config}" --nj ${nj} --job JOB "data/${dset}" "roi/${dset}"
    asrkit video-roi --config "${roi_config}" --nj ${nj} "data/${dset}" "roi/${dset}"  # the jobs are done: merges
  done
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  log "Stage 3: word token list"
  asrkit tokens --token-type word data/train/text "${token_dir}"
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  log "Stage 4: VSR encoder pretraining: ${vsr_exp}"
  mkdir -p "${vsr_exp}"
  ${cuda_cmd} --gpu 0 "${vsr_exp}/train.out" \
    asrkit train --config "${vsr_config}" --train-data data/train --valid-data data/dev \
      --token-dir "${token_dir}" --exp-dir "${vsr_exp}" --resume
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  log "Stage 5: VSR decoding alone"
  for dset in ${test_sets}; do
    dir="${vsr_exp}/${decode_dir}/${dset}"
    ${decode_cmd} --num-threads 1 JOB=1:${nj} "${dir}/logdir/decode.JOB.log" \
      asrkit decode --config "${decode_config}" --nj ${nj} --job JOB "${vsr_exp}" "data/${dset}" "${dir}"
    asrkit merge-decode --nj ${nj} "${dir}"
    asrkit score "${dir}" "data/${dset}"
  done
  asrkit results .
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  log "Stage 6: encoder outputs of ${vsr_exp} and ${asr_exp} -> exp/encoder_cache/{vsr,asr}/<set>"
  if [ ! -f "${asr_exp}/valid.acc.ave.pth" ]; then
    echo "run.sh: ${asr_exp}/valid.acc.ave.pth is absent: train it (../asr1/run.sh) or name another: --asr_exp" >&2
    exit 1
  fi
  for dset in ${sets}; do
    for name in vsr asr; do
      exp=${vsr_exp}; [ ${name} = vsr ] || exp=${asr_exp}
      cache=exp/encoder_cache/${name}/${dset}
      ${train_cmd} --num-threads 1 JOB=1:${nj} "${cache}/log/cache.JOB.log" \
        asrkit cache-encoder --nj ${nj} --job JOB "${exp}" "data/${dset}" "${cache}"
      asrkit cache-encoder --nj ${nj} "${exp}" "data/${dset}" "${cache}"  # the jobs are done: merges
    done
  done
fi
log "Successfully finished"
