#!/usr/bin/env bash
# The refinement data of grid/refine1 (after ../asr1/local/data.sh made data/{train,dev,test}):
#   data/local/unlabeled_labels.txt   a copy of data/train/text: the true labels of the topline arms and of the curve
#                         stage (asrkit refine itself never opens data/train/text)
#   data/local/target.txt GRID grammar sentences to synthesize (--n_target, seed 1), none of them a test sentence;
#                         they may repeat training sentences: the grammar has 64,000, and the unlabeled set is 900
set -euo pipefail
. ./path.sh
n_target=5000
. parse_options.sh

mkdir -p data/local
python3 - "${n_target}" <<'PY'
import random
import sys

from asrkit.data.datadir import read_dict
from asrkit.fileio import atomic_write, copy_file

GRAMMAR = [
    "bin lay place set".split(), "blue green red white".split(), "at by in with".split(),
    [c for c in "abcdefghijklmnopqrstuvxyz"],  # every letter but w
    "zero one two three four five six seven eight nine".split(), "again now please soon".split(),
]
copy_file("data/train/text", "data/local/unlabeled_labels.txt")
test = set(read_dict("data/test/text").values())
rng = random.Random(1)
lines = []
while len(lines) < int(sys.argv[1]):
    sentence = " ".join(rng.choice(words) for words in GRAMMAR)
    if sentence not in test:
        lines.append(sentence)
with atomic_write("data/local/target.txt") as f:
    f.writelines(line + "\n" for line in lines)
print(f"local/refine_data.sh: {len(lines)} target sentences")
PY
