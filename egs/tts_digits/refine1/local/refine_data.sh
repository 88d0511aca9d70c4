#!/usr/bin/env bash
# The refinement data of refine1, from real FSDD (db.sh) and generated text:
#   data/fsdd_unlabeled   FSDD training takes (--unlabeled_takes, default 10-49) of all six speakers: the unlabeled set
#                         (its text is written, for scoring after the fact, and never read by asrkit refine)
#   data/local/unlabeled_labels.txt   a copy of that text: the true labels of the topline arms and of the curve stage
#   data/fsdd_dev         take 5 of every digit by five speakers (50, no yweweler): the labelled target dev set
#   data/local/target.txt connected digit strings to synthesize (--n_target of 1-4 digits, seed 1: not asr1's texts)
# FSDD's official test takes 0-4 are data/test_fsdd (../asr1/local/data.sh); takes 6-9 are used by nobody.
set -euo pipefail
. ./path.sh
. ./db.sh
unlabeled_takes="$(seq -s ' ' 10 49)"
n_target=500
. parse_options.sh

[ -d "${FSDD}/recordings" ] || { echo "local/refine_data.sh: ${FSDD}/recordings is absent (db.sh)" >&2; exit 1; }
mkdir -p data/local
python3 - "${FSDD}/recordings" "${n_target}" ${unlabeled_takes} <<'PY'
import random
import sys

from asrkit.data.fsdd import read_recordings, write_recordings
from asrkit.fileio import atomic_write, copy_file
from asrkit.tts.voices import DIGIT_WORDS

recordings = read_recordings(sys.argv[1])
takes = {int(take) for take in sys.argv[3:]}
write_recordings("data/fsdd_unlabeled", [r for r in recordings if r.take in takes])
copy_file("data/fsdd_unlabeled/text", "data/local/unlabeled_labels.txt")
write_recordings("data/fsdd_dev", [r for r in recordings if r.take == 5 and r.speaker != "yweweler"])
rng = random.Random(1)
lines = [" ".join(rng.choice(DIGIT_WORDS) for _ in range(rng.randint(1, 4))) for _ in range(int(sys.argv[2]))]
with atomic_write("data/local/target.txt") as f:
    f.writelines(line + "\n" for line in lines)
print(f"local/refine_data.sh: {len([r for r in recordings if r.take in takes])} unlabeled, {len(lines)} target texts")
PY
