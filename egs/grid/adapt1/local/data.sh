#!/usr/bin/env bash
# Scenario B data (README.md): ../asr1's GRID s1 split with --heldout_pairs (local/grid_data.sh, a link to it): every
# utterance whose command x colour pair is held out leaves train, dev and test for data/test_pairs, so the base model
# hears every word but never those pairs; test keeps the seen pairs. Then the adaptation text:
#   data/local/target.txt  --target_sentences GRID grammar sentences with the held-out pairs, drawn by --seed, none of
#                          them a test_pairs sentence
#   data/local/token_text  train text + target text (ids target-N): the token list's source, so that the base can
#                          write every character of the target (as Whisper's vocabulary covers any English text);
#                          the base never trains on the target's sentences. Only the stress row gains a token ('q').
# The stress row: --heldout_letters n-z holds out those letters instead of any pairs (data/test_letters; the target
# sentences are those with a held-out letter).
set -euo pipefail
heldout_pairs="lay:green,set:white"
heldout_letters=
target_sentences=500
seed=0
. ./path.sh
. parse_options.sh

[ -z "${heldout_letters}" ] || heldout_pairs=
local/grid_data.sh --heldout_pairs "${heldout_pairs}" --heldout_letters "${heldout_letters}"
python3 - "${heldout_pairs}" "${heldout_letters}" "${target_sentences}" "${seed}" <<'PY'
import sys
from pathlib import Path

from asrkit.data.datadir import read_dict
from asrkit.data.grid import HELDOUT_SET, LETTER_SLOT, LETTERS_SET, grammar_sentences, parse_letters, parse_pairs
from asrkit.fileio import atomic_write

pairs, letters, count, seed = parse_pairs(sys.argv[1]), parse_letters(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
test_set = LETTERS_SET if letters else HELDOUT_SET
tested = set(read_dict(f"data/{test_set}/text").values())
keep = (lambda words: words[LETTER_SLOT] in letters) if letters else (lambda words: tuple(words[:2]) in pairs)
target = grammar_sentences(count, seed, keep, exclude=tested)
Path("data/local").mkdir(parents=True, exist_ok=True)
with atomic_write("data/local/target.txt") as f:
    f.writelines(sentence + "\n" for sentence in target)
with atomic_write("data/local/token_text") as f:
    f.write(Path("data/train/text").read_text(encoding="utf-8"))
    f.writelines(f"target-{i:05d} {sentence}\n" for i, sentence in enumerate(target))
print(f"local/data.sh: data/local/target.txt: {len(target)} grammar sentences with {sys.argv[2] or sys.argv[1]}")
PY
