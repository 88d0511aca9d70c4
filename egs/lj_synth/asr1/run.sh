#!/usr/bin/env bash
# A general English recognizer from engine voices: LJSpeech sentences spoken by 27 TTS voices, char tokens. Tested on
# held-out sentences by held-out voices, and, when db.sh finds them, on real speakers reading LJSpeech sentences
# (test_lj_read) and on GRID commands by the held-out voices (test_grid, out of domain). Its exp dir is the
# pretrained model the adaptation recipes start from.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

test_sets="test_heldout"
[ ! -d "${LJ_READ}" ] || test_sets="${test_sets} test_lj_read"
[ ! -d "${GRID_S1}/audio" ] || test_sets="${test_sets} test_grid"

asr.sh \
  --train_set train --valid_set dev --test_sets "${test_sets}" \
  --token_type char \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
