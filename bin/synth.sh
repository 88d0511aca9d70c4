#!/usr/bin/env bash
# `asrkit synth` in parallel, the way stage 4 computes fbank: --nj jobs through $train_cmd (the recipe's cmd.sh), each
# writing its share of the audio with a log in DATA/log/synth.JOB.log, then one run that fills in anything missing
# and writes the data dir. Run from a recipe dir; every option after DATA goes to `asrkit synth` (voices, jitter):
#     synth.sh --nj 4 TEXT DATA --voices-file conf/voices_train.txt --assign round-robin --seed 0
set -euo pipefail
nj=2
help_message="Usage: $0 [--nj N] TEXT DATA [asrkit synth options]"
. parse_options.sh
. ./cmd.sh
[ $# -ge 2 ] || { echo "${help_message}" >&2; exit 1; }
text=$1 data=$2
shift 2

${train_cmd} --num-threads 1 JOB=1:${nj} "${data}/log/synth.JOB.log" asrkit synth --nj ${nj} --job JOB "$@" "${text}" "${data}"
asrkit synth --nj ${nj} "$@" "${text}" "${data}"
