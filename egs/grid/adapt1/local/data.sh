#!/usr/bin/env bash
# Scenario B data (README.md). GRID s1 split as ../asr1 splits it (asrkit/data/grid.py), then every utterance whose
# command x colour pair is held out (--heldout "lay:green,set:white", comma-separated command:colour pairs) leaves
# train and dev, so the base model hears every word but never those pairs:
#   data/{train,dev}       the base's data without the held-out pairs
#   data/test_heldout      every s1 utterance with a held-out pair (the target domain: the base saw none of them)
#   data/test_seen         the test split's other utterances (the source domain)
#   data/local/target.txt  --target_sentences GRID grammar sentences with the held-out pairs, drawn by --seed, none of
#                          them a test_heldout sentence: the adaptation text
set -euo pipefail
heldout="lay:green,set:white"
target_sentences=500
seed=0
. ./path.sh
. parse_options.sh
. ./db.sh

if [ ! -d "${GRID_S1}/audio" ]; then
  echo "local/data.sh: ${GRID_S1}/audio is absent: set GRID_S1 to a copy of GRID speaker s1 (audio/*.flac, align/*.align)" >&2
  exit 1
fi

python3 - "${GRID_S1}" "${heldout}" "${target_sentences}" "${seed}" <<'PY'
import sys
from pathlib import Path

from asrkit.data.grid import GRAMMAR, grammar_sentences, read_corpus, split, write_utterances
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_write

corpus, heldout, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pairs = {tuple(pair.split(":")) for pair in heldout.split(",") if pair}
for pair in pairs:
    if len(pair) != 2 or pair[0] not in GRAMMAR[0] or pair[1] not in GRAMMAR[1]:
        sys.exit(f"local/data.sh: --heldout {heldout}: '{':'.join(pair)}' is not command:colour ({GRAMMAR[0]} x {GRAMMAR[1]})")
try:
    utterances = read_corpus(corpus, speaker="s1")
except AsrkitError as error:
    sys.exit(f"local/data.sh: {error}")


def held(u):
    return tuple(u.text.split()[:2]) in pairs


sets = {name: [u for u in part if not held(u)] for name, part in split(utterances).items()}
sets["test_seen"] = sets.pop("test")
sets["test_heldout"] = [u for u in utterances if held(u)]
for name, part in sets.items():
    write_utterances(f"data/{name}", part)
    print(f"local/data.sh: data/{name}: {len(part)} utterances")
target = grammar_sentences(count, seed, pairs, exclude={u.text for u in sets["test_heldout"]})
Path("data/local").mkdir(parents=True, exist_ok=True)
with atomic_write("data/local/target.txt") as f:
    f.writelines(sentence + "\n" for sentence in target)
print(f"local/data.sh: data/local/target.txt: {len(target)} grammar sentences with {heldout}")
PY
