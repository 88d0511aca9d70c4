#!/usr/bin/env bash
# Synthetic connected-digit data dirs, in three steps:
#   1. digit strings (conf/data.conf: counts, lengths, seed) -> data/local/{train,dev,test}.text
#   2. speech: train and dev round-robin over conf/voices_train.txt (at train_fs), test by every voice of
#      conf/voices_heldout.txt -> data/{train,dev,test_heldout}, with `asrkit synth` in --nj jobs;
#      with --n_test_long N, also N strings of min_digits_long..max_digits_long digits (longer than any training
#      string, so none is a training text) by the same held-out voices -> data/test_long (out of domain)
#   3. when db.sh finds real FSDD: its official test takes (0-4) of all speakers -> data/test_fsdd
# Transcripts are digit words (zero ... nine; "oh" is not used, as in FSDD).
set -euo pipefail
. ./path.sh
. ./db.sh
. conf/data.conf
nj=2
. parse_options.sh

mkdir -p data/local
lengths="${min_digits}:${max_digits}"
python3 - data/local "${seed}" train="${n_train}:${lengths}" dev="${n_dev}:${lengths}" test="${n_test}:${lengths}" \
  test_long="${n_test_long}:${min_digits_long}:${max_digits_long}" <<'PY'
import random
import sys
from asrkit.data.datadir import write_table
from asrkit.tts.voices import DIGIT_WORDS as WORDS

out, seed, *sets = sys.argv[1:]
# one generator per set, seeded by the seed and the set's name: no set's texts move when another set's size changes
for name, spec in (item.split("=") for item in sets):
    rng = random.Random(f"{seed}:{name}")
    count, shortest, longest = map(int, spec.split(":"))
    texts = {f"{name}{i:05d}": " ".join(rng.choice(WORDS) for _ in range(rng.randint(shortest, longest)))
             for i in range(count)}
    if texts:
        write_table(f"{out}/{name}.text", texts)
PY

synth() {  # synth TEXT DATA_DIR VOICES_FILE ASSIGN [more asrkit synth options]
  synth.sh --nj "${nj}" "$1" "$2" --voices-file "$3" --assign "$4" --rate-jitter "${rate_jitter}" \
    --pitch-jitter "${pitch_jitter}" --seed "${seed}" "${@:5}"
}
synth data/local/train.text data/train conf/voices_train.txt round-robin --fs "${train_fs}"
synth data/local/dev.text data/dev conf/voices_train.txt round-robin --fs "${train_fs}"
synth data/local/test.text data/test_heldout conf/voices_heldout.txt every
[ "${n_test_long}" -eq 0 ] || synth data/local/test_long.text data/test_long conf/voices_heldout.txt every

if [ -d "${FSDD}/recordings" ]; then
  python3 - "${FSDD}/recordings" data/test_fsdd <<'PY'
import sys
from asrkit.data.fsdd import OFFICIAL_TEST_TAKES, read_recordings, write_recordings

test = [rec for rec in read_recordings(sys.argv[1]) if rec.take in OFFICIAL_TEST_TAKES]
write_recordings(sys.argv[2], test)
print(f"local/data.sh: {sys.argv[2]}: {len(test)} utterances")
PY
fi
