#!/usr/bin/env bash
# LibriSpeech 100 h (train-clean-100) on GPUs, sized as ESPnet's egs2/librispeech_100/asr1: speed perturbation 0.9/1.0/1.1,
# BPE 5000, E-Branchformer 12 x 256, fp16. Validation on dev_clean; tests on the four dev/test subsets.
#     ./run.sh --ngpu 4 --nj 32
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train_clean_100 --valid_set dev_clean --test_sets "dev_clean dev_other test_clean test_other" \
  --speed_perturb_factors "0.9 1.0 1.1" \
  --token_type bpe --vocab_size 5000 \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  "$@"
