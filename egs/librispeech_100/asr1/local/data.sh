#!/usr/bin/env bash
# LibriSpeech data dirs: train_clean_100 (training), dev_clean (validation), dev_clean, dev_other, test_clean,
# test_other (tests). When ${LIBRISPEECH} (db.sh) is absent, each subset's archive is downloaded from openslr.org/12,
# checked against its published SHA-256 and unpacked into downloads/LibriSpeech.
set -euo pipefail
. ./path.sh
. parse_options.sh
. ./db.sh
subsets="train-clean-100 dev-clean dev-other test-clean test-other"
declare -A sha256=(  # openslr.org/12's archives (as torchaudio's LibriSpeech dataset checks them)
  [train-clean-100]=d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2
  [dev-clean]=76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3
  [dev-other]=12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365
  [test-clean]=39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23
  [test-other]=d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29
)

if [ ! -d "${LIBRISPEECH}" ]; then
  echo "local/data.sh: ${LIBRISPEECH} is absent: downloading LibriSpeech from openslr.org/12 into downloads/"
  for part in ${subsets}; do
    download.py "https://www.openslr.org/resources/12/${part}.tar.gz" "downloads/${part}.tar.gz"
    asrkit prep unpack --sha256 "${sha256[${part}]}" "downloads/${part}.tar.gz" downloads
  done
  LIBRISPEECH=$(pwd)/downloads/LibriSpeech
fi

asrkit prep librispeech "${LIBRISPEECH}" data $(printf -- "--subset %s " ${subsets})
