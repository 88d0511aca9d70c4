#!/usr/bin/env bash
# GRID speaker s1: six-word commands ("bin blue at f two now") of one male speaker. Word tokens (conf/train.yaml);
# the char model of egs/grid/tts1 (its CTC aligner and judge) is ./run.sh --token_type char --asr_config conf/train_char.yaml.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train --valid_set dev --test_sets "dev test" \
  --token_type word \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
