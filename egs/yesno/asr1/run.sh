#!/usr/bin/env bash
# Kaldi's yesno: 60 recordings of one man saying 8 Hebrew words, each "yes" or "no".
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train_nodev --valid_set train_dev --test_sets "train_dev test_yesno" \
  --token_type word \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
