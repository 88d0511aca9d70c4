#!/usr/bin/env bash
# Scenario B data (README.md): ../asr1's GRID s1 split with --heldout_pairs (local/grid_data.sh, a link to it): every
# utterance whose command x colour pair is held out leaves train, dev and test for data/test_pairs, so the base model
# hears every word but never those pairs; test keeps the seen pairs. Then the adaptation text:
#   data/local/target.txt  --target_sentences GRID grammar sentences with the held-out pairs, drawn by --seed, none of
#                          them a test_pairs sentence
set -euo pipefail
heldout_pairs="lay:green,set:white"
target_sentences=500
seed=0
. ./path.sh
. parse_options.sh

local/grid_data.sh --heldout_pairs "${heldout_pairs}"
python3 - "${heldout_pairs}" "${target_sentences}" "${seed}" <<'PY'
import sys
from pathlib import Path

from asrkit.data.datadir import read_dict
from asrkit.data.grid import HELDOUT_SET, grammar_sentences, parse_pairs
from asrkit.fileio import atomic_write

heldout, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tested = set(read_dict(f"data/{HELDOUT_SET}/text").values())
target = grammar_sentences(count, seed, parse_pairs(heldout), exclude=tested)
Path("data/local").mkdir(parents=True, exist_ok=True)
with atomic_write("data/local/target.txt") as f:
    f.writelines(sentence + "\n" for sentence in target)
print(f"local/data.sh: data/local/target.txt: {len(target)} grammar sentences with {heldout}")
PY
