"""Data: Kaldi data dirs (reading, writing, validating, fixing), audio I/O, corpus naming (FSDD, GRID), features
(fbank, CMVN) and token lists. Everything a recipe's stages 1 and 3-5 run."""
