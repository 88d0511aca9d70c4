#!/usr/bin/env bash
# LJSpeech sentences spoken by engine voices, in three steps (conf/data.conf holds the sizes):
#   1. texts: metadata.csv (db.sh) without the ids read aloud in ${LJ_READ}, shuffled with the seed and cut into
#      test, dev and train ids -> data/local/{test,dev,train}.text; the 50 test commands of GRID s1 (egs/grid/asr1's
#      split, asrkit/data/grid.py) -> data/local/grid.text; the real readings -> data/test_lj_read; with
#      --n_test_digits N, N strings of min_digits..max_digits digit words -> data/local/digits.text
#   2. speech: train and dev round-robin over conf/voices_train.txt, test sentences, GRID commands and digit strings
#      by every voice of conf/voices_heldout.txt -> data/{train,dev,test_heldout,test_grid,test_digits}, `asrkit synth`
#      in --nj jobs
#   3. transcripts: the engines read the punctuated sentences (pausing at commas); each data dir's text is then
#      normalised (asrkit/data/text.py: lower case, no punctuation), the form of every transcript and of the BPE
set -euo pipefail
. ./path.sh
. ./db.sh
. conf/data.conf
nj=2
. parse_options.sh
download_url=https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2

if [ ! -f "${LJSPEECH_TEXT}/metadata.csv" ]; then
  echo "local/data.sh: ${LJSPEECH_TEXT}/metadata.csv is absent: downloading ${download_url} (2.6 GB) for it"
  download.py "${download_url}" downloads/LJSpeech-1.1.tar.bz2
  tar -xjf downloads/LJSpeech-1.1.tar.bz2 -C downloads LJSpeech-1.1/metadata.csv
  LJSPEECH_TEXT=$(pwd)/downloads/LJSpeech-1.1
fi
[ -d "${LJ_READ}" ] || echo "local/data.sh: ${LJ_READ} is absent: no test_lj_read"
[ -d "${GRID_S1}/audio" ] || echo "local/data.sh: ${GRID_S1}/audio is absent: no test_grid"

mkdir -p data/local
python3 - "${LJSPEECH_TEXT}/metadata.csv" "${LJ_READ}" "${GRID_S1}" "${seed}" \
  "${n_test_digits}:${min_digits}:${max_digits}" test="${n_test}" dev="${n_dev}" train="${n_train}" <<'PY'
import random
import sys
from pathlib import Path
from asrkit.data.datadir import write_table
from asrkit.data.grid import read_corpus, split
from asrkit.data.ljspeech import read_metadata, read_recordings, split_sentences, write_recordings
from asrkit.tts.voices import DIGIT_WORDS

metadata, lj_read, grid, seed, digits, *counts = sys.argv[1:]
sentences = read_metadata(metadata)
read = read_recordings(lj_read) if Path(lj_read).is_dir() else []
if read:
    write_recordings("data/test_lj_read", read, sentences)
    print(f"local/data.sh: data/test_lj_read: {len(read)} utterances")
counts = {name: int(count) for name, count in (item.split("=") for item in counts)}
# Sentences read aloud in the real test set are never spoken by an engine voice, in any set.
for name, ids in split_sentences(sentences, counts, int(seed), exclude={r.sentence_id for r in read}).items():
    write_table(f"data/local/{name}.text", {i: sentences[i] for i in ids})
    print(f"local/data.sh: data/local/{name}.text: {len(ids)} sentences")
if (Path(grid) / "audio").is_dir():
    commands = {u.audio.stem: u.text for u in split(read_corpus(grid))["test"]}
    write_table("data/local/grid.text", commands)
    print(f"local/data.sh: data/local/grid.text: {len(commands)} GRID commands")
count, shortest, longest = map(int, digits.split(":"))
if count:
    rng = random.Random(int(seed))  # its own generator: the sentence split above does not move with it
    write_table("data/local/digits.text", {f"digits{i:04d}": " ".join(rng.choice(DIGIT_WORDS) for _ in
                                           range(rng.randint(shortest, longest))) for i in range(count)})
    print(f"local/data.sh: data/local/digits.text: {count} digit strings")
PY

synth() {  # synth TEXT DATA_DIR VOICES_FILE ASSIGN
  synth.sh --nj "${nj}" "$1" "$2" --voices-file "$3" --assign "$4" --rate-jitter "${rate_jitter}" \
    --pitch-jitter "${pitch_jitter}" --seed "${seed}"
  python3 -c 'import sys; from asrkit.data.text import normalize_text_file; normalize_text_file(sys.argv[1])' "$2/text"
}
synth data/local/train.text data/train conf/voices_train.txt round-robin
synth data/local/dev.text data/dev conf/voices_train.txt round-robin
synth data/local/test.text data/test_heldout conf/voices_heldout.txt every
[ ! -f data/local/grid.text ] || synth data/local/grid.text data/test_grid conf/voices_heldout.txt every
[ "${n_test_digits}" -eq 0 ] || synth data/local/digits.text data/test_digits conf/voices_heldout.txt every
