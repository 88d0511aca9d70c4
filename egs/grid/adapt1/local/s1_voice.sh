#!/usr/bin/env bash
# The s1 FastSpeech2 voice for the TTS arm, made from the source utterances only (no target-domain speech leaks in):
# the base model (exp/asr_train, trained without the held-out pairs) CTC-aligns data/train (asrkit tts align, with
# ../tts1's conf/fastspeech2.yaml and its speech-region trimming), a FastSpeech2 trains on it (asrkit tts train,
# resumable), and exp/tts_s1/voices.txt names the voice, written last. Then speak the target text with it and adapt:
#   ./run.sh --stage 2 --stop_stage 4 --synth_sets "synth_s1:data/local/target.txt:exp/tts_s1/voices.txt"
#   ./run.sh --stage 7 --adapt_method tts --adapt_synth_set synth_s1 (with the same --synth_sets)
set -euo pipefail
asr_exp=exp/asr_train
tts_config=conf/fastspeech2.yaml
tts_exp=exp/tts_s1
. ./path.sh
. parse_options.sh
. ./cmd.sh

if [ ! -f exp/align_s1/durations ]; then
  ${train_cmd} --num-threads 1 exp/align_s1/align.log \
    asrkit tts align --config "${tts_config}" data/train "${asr_exp}" exp/align_s1
fi
mkdir -p "${tts_exp}"
${cuda_cmd} --gpu 0 "${tts_exp}/train.out" \
  asrkit tts train --config "${tts_config}" --alignment exp/align_s1 --resume data/train "${tts_exp}"
echo "model:${tts_exp}" > "${tts_exp}/voices.txt.tmp" && mv "${tts_exp}/voices.txt.tmp" "${tts_exp}/voices.txt"
echo "local/s1_voice.sh: ${tts_exp}/voices.txt names the s1 voice ${tts_exp}"
