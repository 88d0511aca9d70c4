#!/usr/bin/env bash
# A neural TTS of GRID speaker s1 (FastSpeech2 + Griffin-Lim), judged by the s1 ASR model of ../asr1: the WER of that
# model on held-out sentences spoken by the TTS, beside the same sentences spoken by engine voices and by s1 himself.
#   1. data (../asr1/local/data.sh: 900 train / 50 dev / 50 test)   4. FastSpeech2 training (asrkit tts train)
#   2. the char ASR model of ../asr1 (trained if absent)             5. synthesis + decoding of test texts (asrkit tts eval)
#   3. CTC forced alignment of train with it (asrkit tts align),         6. RESULTS.md
#      checked against GRID's word alignments
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

stage=1
stop_stage=100
asr_exp=../asr1/exp/asr_train   # aligner and judge: the char model of ../asr1 (conf/train.yaml), real s1 speech
tts_config=conf/fastspeech2.yaml
decode_config=conf/decode.yaml
engine_voices="espeak-ng:en-us flite:kal flite:slt festival:kal_diphone"   # engine voices read the same test texts
help_message="Usage: $0 [--stage N] [--stop_stage N] [--asr_exp DIR] [--engine_voices 'engine:voice ...']"
. parse_options.sh
. ./cmd.sh

tts_exp=exp/tts_$(basename "${tts_config}" .yaml)
eval_dir=exp/tts_eval
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (tts1) $*"; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: data preparation"
  local/data.sh --trim_db 0   # whole recordings: the word-boundary error is measured against GRID's own times
  asrkit validate-data data/train
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  if [ ! -f "${asr_exp}/valid.acc.ave.pth" ]; then
    log "Stage 2: ${asr_exp} is absent: training the char model with ../asr1/run.sh"
    ../asr1/run.sh
  fi
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  log "Stage 3: CTC forced alignment of data/train with ${asr_exp}"
  ${train_cmd} --num-threads 1 exp/align_train/align.log \
    asrkit tts align --config "${tts_config}" data/train "${asr_exp}" exp/align_train
  . ./db.sh
  local/word_boundary_error.py exp/align_train data/train "${GRID_S1}" "${tts_config}" | tee exp/align_train/word_boundary_error
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  log "Stage 4: training ${tts_exp}"
  mkdir -p "${tts_exp}"
  ${cuda_cmd} --gpu 0 "${tts_exp}/train.out" \
    asrkit tts train --config "${tts_config}" --alignment exp/align_train --resume data/train "${tts_exp}"
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  log "Stage 5: intelligibility of the test sentences: real s1 speech, ${tts_exp}, ${engine_voices}"
  real=${eval_dir}/decode_real_s1
  asrkit decode --config "${decode_config}" "${asr_exp}" data/test "${real}"
  asrkit score "${real}" data/test
  for voice in "model:${tts_exp}" ${engine_voices}; do
    dir=${eval_dir}/decode_$(echo "${voice}" | tr -c 'A-Za-z0-9_.+\n-' '_')
    ${decode_cmd} --num-threads 1 "${dir}/tts_eval.log" \
      asrkit tts eval --voice "${voice}" --decode-config "${decode_config}" data/test/text "${asr_exp}" "${dir}"
    grep "^tts eval:" "${dir}/tts_eval.log"
  done
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  log "Stage 6: RESULTS.md"
  asrkit results .
fi
log "Successfully finished"
