#!/usr/bin/env bash
# Omni-AVSR on GRID speaker s1 (issue 15): audio + face video of 1000 six-word commands. The video half:
#   1. data (../asr1/local/data.sh: 900 train / 50 dev / 50 test, with video.scp) and video checks
#   2. mouth-ROI features (asrkit video-roi, conf/roi.yaml): data/<set>/roi.scp
#   3. word token list
#   4. VSR encoder pretraining (asrkit train, conf/train_vsr.yaml: 3-D conv + ResNet front-end, Conformer)
#   5. VSR decoding alone (asrkit decode) and scoring
#   6. encoder outputs cached for the LLM stages: this VSR encoder's and ../asr1's audio encoder's, every set
# The LLM half (asrkit avsr, conf/avsr.yaml: SmolLM2-135M cut to 6 layers, LoRA, projectors per pooling rate):
#   7. noisy training audio: babble of training utterances at each SNR, cached by the audio encoder
#   8. Omni-AVSR training, one run per LoRA variant (S, T, ST)
#   9. decoding of the task x rate grid (asr per audio rate, vsr per video rate, avsr per pair), scoring
#  10. noise evaluation: test audio + babble (of dev utterances) or white noise per SNR, asr vs avsr
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
avsr_config=conf/avsr.yaml
avsr_decode_config=conf/decode_avsr.yaml
avsr_variants="s t st"               # LoRA variants trained in stage 8 (exp/avsr_<variant>)
audio_rates="2 8"                    # decoded in stage 9: the rates of ${avsr_config}'s model
video_rates="2 5"
train_snrs="-5 0 5 10 15 20"         # babble copies of the training audio (clean is the 7th condition)
test_snrs="10 5 0 -5"
babble=3                             # utterances summed into one babble recording
noise_variants=st                    # variants decoded in stage 10
help_message="Usage: $0 [--stage N] [--stop_stage N] [--nj N] [--vsr_config YAML] [--asr_exp DIR] [--avsr_variants L]"
. parse_options.sh
. ./cmd.sh

vsr_exp=exp/vsr_$(basename "${vsr_config}" .yaml)
decode_dir=decode_$(basename "${decode_config}" .yaml)_valid.acc.ave
token_dir=data/token_list/word
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (avsr1) $*"; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: data preparation (audio + video) and checks"
  local/data.sh --trim_db 0   # whole recordings: the videos cover them whole
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

# An Omni-AVSR decode and its scoring: exp, data set, task, audio rate, video rate, audio cache. The decode dir is
# EXP/decode_<task>[_a<audio rate>][_v<video rate>]/<set>, naming the rates the task reads.
avsr_decode() {
  local exp=$1 dset=$2 task=$3 arate=$4 vrate=$5 audio=$6
  local name=decode_${task}
  [ "${task}" = vsr ] || name+=_a${arate}
  [ "${task}" = asr ] || name+=_v${vrate}
  asrkit avsr decode "${exp}" "data/${dset}" "${exp}/${name}/${dset}" --task "${task}" --audio "${audio}" \
    --video "exp/encoder_cache/vsr/${dset}" --audio-rate "${arate}" --video-rate "${vrate}" \
    --config "${avsr_decode_config}"
  asrkit score "${exp}/${name}/${dset}" "data/${dset}"
}
first() { echo "$1"; }

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
  log "Stage 7: babble copies of the training audio (SNR ${train_snrs}) -> exp/encoder_cache/asr_noisy/train"
  noisy=exp/encoder_cache/asr_noisy/train
  mkdir -p "${noisy}"
  ln -sfn ../../asr/train "${noisy}/clean"
  for snr in ${train_snrs}; do
    asrkit perturb data/train "data/train_babble${snr}" --noise data/train --babble ${babble} --snr "${snr}"
    asrkit cache-encoder --nj ${nj} "${asr_exp}" "data/train_babble${snr}" "${noisy}/babble_snr${snr}"
  done
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
  for variant in ${avsr_variants}; do
    log "Stage 8: Omni-AVSR training, LoRA variant ${variant}: exp/avsr_${variant}"
    mkdir -p "exp/avsr_${variant}"
    asrkit avsr train --config "${avsr_config}" --lora-variant "${variant}" --exp-dir "exp/avsr_${variant}" \
      --train-data data/train --train-audio exp/encoder_cache/asr_noisy/train \
      --train-video exp/encoder_cache/vsr/train \
      --valid-data data/dev --valid-audio exp/encoder_cache/asr/dev --valid-video exp/encoder_cache/vsr/dev --resume \
      > "exp/avsr_${variant}/train.out" 2>&1
  done
fi

if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
  log "Stage 9: the task x rate grid"
  for variant in ${avsr_variants}; do
    exp=exp/avsr_${variant}
    for dset in ${test_sets}; do
      audio=exp/encoder_cache/asr/${dset}
      for arate in ${audio_rates}; do
        avsr_decode "${exp}" "${dset}" asr "${arate}" "$(first ${video_rates})" "${audio}"
      done
      for vrate in ${video_rates}; do
        avsr_decode "${exp}" "${dset}" vsr "$(first ${audio_rates})" "${vrate}" "${audio}"
        for arate in ${audio_rates}; do
          avsr_decode "${exp}" "${dset}" avsr "${arate}" "${vrate}" "${audio}"
        done
      done
    done
  done
  asrkit results .
fi

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ]; then
  log "Stage 10: noisy test audio (babble of dev utterances, white noise; SNR ${test_snrs})"
  arate=$(first ${audio_rates}); vrate=$(first ${video_rates})
  for noise in babble white; do
    source=data/dev; [ ${noise} = babble ] || source=white
    for snr in ${test_snrs}; do
      name=test_${noise}${snr}
      asrkit perturb data/test "data/${name}" --noise "${source}" --babble ${babble} --snr "${snr}"
      ln -sfn test "exp/encoder_cache/vsr/${name}"  # the same video: only the audio is noisy
      asrkit cache-encoder --nj ${nj} "${asr_exp}" "data/${name}" "exp/encoder_cache/asr/${name}"
      for variant in ${noise_variants}; do
        for task in asr avsr; do
          avsr_decode "exp/avsr_${variant}" "${name}" ${task} "${arate}" "${vrate}" "exp/encoder_cache/asr/${name}"
        done
      done
    done
  done
  asrkit results .
fi
log "Successfully finished"
