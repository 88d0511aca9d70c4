#!/usr/bin/env bash
# Common Voice English on GPUs: the release's train/dev/test splits, speed perturbation 0.9/1.0/1.1, BPE 5000 and
# the LibriSpeech-100 recipe's E-Branchformer 12 x 256 (conf/ links to it).
#     ./run.sh --ngpu 4 --nj 32
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train --valid_set dev --test_sets "dev test" \
  --speed_perturb_factors "0.9 1.0 1.1" \
  --token_type bpe --vocab_size 5000 \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
