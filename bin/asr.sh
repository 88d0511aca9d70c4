#!/usr/bin/env bash
# The ASR recipe driver shared by every egs/*/asr1 recipe (ESPnet's TEMPLATE asr.sh, in small).
# A recipe's run.sh sets its data sets and configs and passes its arguments on:
#     asr.sh --train_set train --valid_set dev --test_sets "test" "$@"
# Stages:
#   1. data preparation (local/data.sh)      6. training (asrkit train)
#   2. TTS synthesis (with --synth_sets)     7. adaptation (with --adapt_config: asrkit adapt tle-train, adapt run)
#   3. data dir checks (fix-data, validate)  8. decoding (asrkit decode, nj jobs; merge-decode), of the adapted
#      (+ speed perturbation of the train set)  model when stage 7 is configured
#   4. fbank features + global CMVN          9. scoring, RESULTS.md
#   5. token list
set -euo pipefail

stage=1
stop_stage=100
nj=2                          # parallel jobs for features and decoding
train_set=
valid_set=
test_sets=
local_data_opts=              # options passed to local/data.sh
speed_perturb_factors=        # e.g. "0.9 1.0 1.1": train on data/<train_set>_sp, one sox-speed copy per factor (ESPnet's)
fbank_config=conf/fbank.yaml     # the recipe's features; merge-fbank records them in each data dir, train takes them from there
token_type=char               # char, word, bpe or unigram
vocab_size=30
token_text=                   # Kaldi text the token list is learned from; default data/<train_set>/text (ESPnet learns it
                              # from the LM text: a base meant for text adaptation can list the target's tokens too)
asr_config=conf/train.yaml
asr_tag=                      # exp/asr_<tag>; defaults to the config's name
decode_config=conf/decode.yaml
decode_model=valid.acc.ave.pth
synth_sets=                   # "DSET:TEXT:VOICES ...": data/DSET spoken from TEXT (uttid text) by the voices in file VOICES
synth_opts=                   # more `asrkit synth` options for every synth set (e.g. "--assign round-robin --seed 0")
adapt_config=                 # adaptation YAML (asrkit/adapt/finetune.py); empty: no stage 7, decode the trained model
adapt_method=tle              # tts, tle or tle+tts
adapt_text=                   # target-domain text, one sentence a line (tle, tle+tts)
adapt_synth_set=              # data set of synthesized target text (tts, tle+tts), e.g. one of synth_sets
tle_config=conf/tle.yaml      # text-to-latent VAE YAML (asrkit/adapt/tle_train.py) for tle, tle+tts
adapt_opts=                   # more `asrkit adapt run` options (e.g. --unk)
ngpu=0                        # GPUs for training; >1: torchrun with this many processes
train_nproc=                  # training processes (DDP ranks) when not one per GPU, e.g. on CPU nodes
help_message="Usage: $0 [options]   (see the variables at the top of bin/asr.sh for every option)"

. parse_options.sh
. ./cmd.sh

for name in train_set valid_set test_sets; do
  [ -n "${!name}" ] || { echo "asr.sh: --${name} is required" >&2; exit 1; }
done
asr_tag=${asr_tag:-$(basename "${asr_config}" .yaml)${speed_perturb_factors:+_sp}}
asr_exp=exp/asr_${asr_tag}
token_dir=data/token_list/${token_type}
decode_dir=decode_$(basename "${decode_config}" .yaml)_$(basename "${decode_model}" .pth)
synth_names=$(for spec in ${synth_sets}; do echo "${spec%%:*}"; done)
data_sets() { echo ${train_set} ${valid_set} ${test_sets} ${synth_names} | tr " " "\n" | awk '!seen[$0]++' | tr "\n" " "; }
all_sets=$(data_sets)
cache_dir=exp/encoder_cache/asr_${asr_tag}           # the trained encoder's outputs, shared by the adapt methods
tle_exp=exp/tle_${asr_tag}_$(basename "${tle_config}" .yaml)
adapt_speech=; [[ ${adapt_method} != *tts ]] || adapt_speech=_${adapt_synth_set}  # another voice: another exp dir
adapt_exp=${asr_exp}_adapt_${adapt_method/+/_}${adapt_speech}_$(basename "${adapt_config:-none}" .yaml)
decode_exp=${asr_exp}
[ -z "${adapt_config}" ] || decode_exp=${adapt_exp}
if [ -n "${adapt_config}" ] && [[ ${adapt_method} == *tts ]] && [ -z "${adapt_synth_set}" ]; then
  echo "$0: --adapt_method ${adapt_method} needs --adapt_synth_set (the synthesized set it adapts on)" >&2
  exit 1
fi

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (asr.sh) $*"; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: data preparation"
  local/data.sh ${local_data_opts}
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ] && [ -n "${synth_sets}" ]; then
  log "Stage 2: TTS synthesis"
  for spec in ${synth_sets}; do
    IFS=: read -r dset text voices <<< "${spec}"
    synth.sh --nj ${nj} "${text}" "data/${dset}" --voices-file "${voices}" ${synth_opts}
  done
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  log "Stage 3: data dir checks"
  for dset in ${all_sets}; do
    asrkit fix-data "data/${dset}"
    asrkit validate-data "data/${dset}"
  done
  if [ -n "${speed_perturb_factors}" ]; then
    log "Stage 3: speed perturbation (${speed_perturb_factors}): data/${train_set}_sp"
    asrkit perturb $(printf -- "--speed %s " ${speed_perturb_factors}) "data/${train_set}" "data/${train_set}_sp"
    asrkit validate-data "data/${train_set}_sp"
  fi
fi
# From here on the perturbed copy is the train set (features, tokens, training), as in ESPnet.
if [ -n "${speed_perturb_factors}" ]; then
  train_set=${train_set}_sp
  all_sets=$(data_sets)
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  log "Stage 4: fbank features"
  for dset in ${all_sets}; do
    ${train_cmd} --num-threads 1 JOB=1:${nj} "exp/make_fbank/${dset}/fbank.JOB.log" \
      asrkit fbank --config "${fbank_config}" --nj ${nj} --job JOB "data/${dset}" "fbank/${dset}"
    asrkit merge-fbank --nj ${nj} "data/${dset}" "fbank/${dset}"
  done
  asrkit compute-cmvn "data/${train_set}" "data/${train_set}/cmvn.npz"
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  log "Stage 5: ${token_type} token list"
  asrkit tokens --token-type "${token_type}" --vocab-size ${vocab_size} "${token_text:-data/${train_set}/text}" "${token_dir}"
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  log "Stage 6: training ${asr_exp}"
  # Multi-process training is torchrun inside one job, so it is the same for every backend of $cuda_cmd.
  nproc=${train_nproc:-${ngpu}}
  launcher=asrkit
  [ ${nproc} -le 1 ] || launcher="torchrun --standalone --nproc_per_node ${nproc} -m asrkit.cli"
  mkdir -p "${asr_exp}"
  ${cuda_cmd} --gpu ${ngpu} "${asr_exp}/train.out" \
    ${launcher} train --config "${asr_config}" \
      --train-data "data/${train_set}" --valid-data "data/${valid_set}" \
      --token-dir "${token_dir}" --cmvn "data/${train_set}/cmvn.npz" --exp-dir "${asr_exp}" --resume
fi

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ] && [ -n "${adapt_config}" ]; then
  log "Stage 7: adaptation of ${asr_exp} by ${adapt_method}: ${adapt_exp}"
  adapt_inputs=()
  if [[ ${adapt_method} == tle* ]]; then
    mkdir -p "${tle_exp}"
    ${cuda_cmd} --gpu ${ngpu} "${tle_exp}/tle_train.out" asrkit adapt tle-train --config "${tle_config}" \
      --cache-dir "${cache_dir}/source" --resume "${asr_exp}" "data/${train_set}" "${tle_exp}"
    adapt_inputs+=(--text "${adapt_text}" --tle "${tle_exp}")
  fi
  [[ ${adapt_method} != *tts ]] || adapt_inputs+=(--synth-data "data/${adapt_synth_set}")
  mkdir -p "${adapt_exp}"
  ${cuda_cmd} --gpu ${ngpu} "${adapt_exp}/adapt.out" \
    asrkit adapt run --method "${adapt_method}" --config "${adapt_config}" --source-data "data/${train_set}" \
      --dev-data "data/${valid_set}" --cache-dir "${cache_dir}" --resume "${adapt_inputs[@]}" ${adapt_opts} \
      "${asr_exp}" "${adapt_exp}"
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
  log "Stage 8: decoding"
  for dset in ${test_sets}; do
    dir="${decode_exp}/${decode_dir}/${dset}"
    ${decode_cmd} --num-threads 1 JOB=1:${nj} "${dir}/logdir/decode.JOB.log" \
      asrkit decode --config "${decode_config}" --model "${decode_model}" --nj ${nj} --job JOB \
        "${decode_exp}" "data/${dset}" "${dir}"
    asrkit merge-decode --nj ${nj} "${dir}"
  done
fi

if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
  log "Stage 9: scoring"
  for dset in ${test_sets}; do
    asrkit score "${decode_exp}/${decode_dir}/${dset}" "data/${dset}"
  done
  asrkit results .
fi
log "Successfully finished"
