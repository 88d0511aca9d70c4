#!/usr/bin/env bash
# GRID s1 data dirs (asrkit/data/grid.py): of the 1000 utterances sorted by id, every 20th (index 0, 20, ...) is dev
# and every 20th from index 10 is test (50 each, spread over the whole grammar); the other 900 train. The transcript is
# the word alignment without its `sil` (silence) and `sp` (short pause) entries: six words each.
# --heldout_pairs bin:blue,lay:green,... (default: none, the split above unchanged) moves every utterance whose
# command and colour are one of those pairs out of train, dev and test into data/test_pairs (a word-combination shift:
# every word is heard in training, those pairs never); test then holds only seen pairs.
# --heldout_letters n-z (or "a c e"; default: none) moves every utterance with one of those letters into
# data/test_letters: letter names the model never hears (the adaptation recipe's stress row).
# --trim_db 10 (default; 0: whole recordings) cuts each recording to its speech region by an energy detector (frames
# 10 dB above the noise floor, asrkit/data/vad.py), --trim_margin seconds wider on both sides, as a `segments` file:
# GRID's ~1.5 s of silence a recording is half of it. Trimmed dirs are audio-only (no video.scp).
set -euo pipefail
heldout_pairs=
heldout_letters=
trim_db=10
trim_margin=0.15
. ./path.sh
. parse_options.sh
. ./db.sh

if [ ! -d "${GRID_S1}/audio" ]; then
  echo "local/data.sh: ${GRID_S1}/audio is absent: set GRID_S1 to a copy of GRID speaker s1 (audio/*.flac, align/*.align)" >&2
  exit 1
fi

python3 - "${GRID_S1}" "${heldout_pairs}" "${heldout_letters}" "${trim_db}" "${trim_margin}" <<'PY'
import sys
from asrkit.data.grid import (hold_out_letters, hold_out_pairs, parse_letters, parse_pairs, read_corpus, split,
                              write_utterances)
from asrkit.errors import AsrkitError

try:
    sets = split(read_corpus(sys.argv[1], speaker="s1"))
    if sys.argv[2]:
        sets = hold_out_pairs(sets, parse_pairs(sys.argv[2]))
    if sys.argv[3]:
        sets = hold_out_letters(sets, parse_letters(sys.argv[3]))
except AsrkitError as error:
    sys.exit(f"local/data.sh: {error}")
for name, utterances in sets.items():
    write_utterances(f"data/{name}", utterances, float(sys.argv[4]), float(sys.argv[5]))
    print(f"local/data.sh: data/{name}: {len(utterances)} utterances")
PY
