#!/usr/bin/env bash
# WhisTLE scenario B on GRID s1 (README.md): a char model trained without some command x colour pairs, adapted on
# grammar text with them by a text-to-latent VAE (stage 7), then decoded on real s1 speech with and without them.
# Held-out pairs: --local_data_opts "--heldout_pairs bin:blue,lay:green" (or letters instead, the stress row:
# --local_data_opts "--heldout_letters n-z" --test_sets "test_letters test"); the method: --adapt_method tle (default), or
# tts / tle+tts with --synth_sets and --adapt_synth_set; the base alone: --adapt_config "".
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

asr.sh \
  --train_set train --valid_set dev --test_sets "test_pairs test" \
  --token_type char --token_text data/local/token_text \
  --asr_config conf/train.yaml --decode_config conf/decode.yaml \
  --adapt_config conf/adapt.yaml --adapt_method tle --adapt_text data/local/target.txt --tle_config conf/tle.yaml \
  "$@"
