#!/usr/bin/env bash
# Connected digits spoken by TTS engine voices (no downloaded data): train on some voices, test on held-out
# voices, and, when db.sh finds real FSDD recordings, on real speech too.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

test_sets="test_heldout"
[ ! -d "${FSDD}/recordings" ] || test_sets="${test_sets} test_fsdd"

asr.sh \
  --train_set train --valid_set dev --test_sets "${test_sets}" \
  --token_type word \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
