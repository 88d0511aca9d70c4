#!/usr/bin/env bash
# GRID speaker s1: six-word commands ("bin blue at f two now") of one male speaker. Char tokens, so the model
# also serves as the CTC aligner and the intelligibility judge of egs/grid/tts1.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train --valid_set dev --test_sets "test" \
  --token_type char \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
