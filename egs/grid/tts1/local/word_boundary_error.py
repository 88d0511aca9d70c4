#!/usr/bin/env python3
"""How far the CTC alignment's word boundaries fall from GRID's own word alignments (align/ID.align, 1/25000 s).

Usage: local/word_boundary_error.py ALIGN_DIR DATA_DIR GRID_S1 TTS_CONFIG
A word starts at its first character's first frame and ends at the last frame of its last character. GRID's words
come from asrkit.data.grid (without sil/sp, so a short pause does not shift the words after it).
"""

import sys
from pathlib import Path

import numpy as np

from asrkit.data.datadir import read_dict
from asrkit.data.grid import read_corpus
from asrkit.tts.align import read_durations
from asrkit.tts.model import TTSConfig

align_dir, data_dir, grid = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
features = TTSConfig.load(sys.argv[4]).feature_config
hop_s = features.hop_length / features.fs
text = read_dict(data_dir / "text")
reference = {u.utt_id: u.words for u in read_corpus(grid, speaker="s1")}
errors = []
for utt, durations in read_durations(align_dir / "durations").items():
    bounds = np.cumsum([0, *durations]) * hop_s  # token i spans bounds[i]..bounds[i+1]; token 0 is the silence
    token = 1
    for word, (_, start, end) in zip(text[utt].split(), reference[utt]):
        errors += [abs(bounds[token] - start), abs(bounds[token + len(word)] - end)]
        token += len(word) + 1  # the word's characters and the <space> after it
errors = np.array(errors) * 1000
print(f"{len(errors)} word boundaries: mean |error| {errors.mean():.0f} ms, median {np.median(errors):.0f} ms, "
      f"{np.mean(errors <= 50) * 100:.0f} % within 50 ms")
