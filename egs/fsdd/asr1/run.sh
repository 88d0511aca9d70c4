#!/usr/bin/env bash
# Free Spoken Digit Dataset: isolated English digits, 6 speakers; one speaker is kept out of training.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train --valid_set dev --test_sets "test test_unseen" \
  --token_type word \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
