#!/usr/bin/env bash
# GRID speaker s1: six-word commands ("bin blue at f two now") of one male speaker. Char tokens (conf/train.yaml);
# exp/asr_train is also the CTC aligner and judge of egs/grid/tts1.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train --valid_set dev --test_sets "dev test" \
  --token_type char \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
