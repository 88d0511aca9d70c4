#!/usr/bin/env bash
# Common Voice English data dirs: the release's official splits of validated.tsv, train, dev and test (one data dir
# each); wav.scp decodes every MP3 clip through an ffmpeg pipe to 16 kHz mono.
set -euo pipefail
. ./path.sh
. parse_options.sh
. ./db.sh

if [ ! -f "${COMMONVOICE}/train.tsv" ]; then
  echo "local/data.sh: ${COMMONVOICE}/train.tsv is absent; Common Voice cannot be downloaded by a script: get the" \
       "English release from https://commonvoice.mozilla.org/en/datasets, extract it and set COMMONVOICE in db.sh" \
       "(or the environment) to its en/ folder (clips/, train.tsv, dev.tsv, test.tsv)" >&2
  exit 1
fi
asrkit prep commonvoice "${COMMONVOICE}" data
