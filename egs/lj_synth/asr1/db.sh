# Corpus locations. LJSPEECH_TEXT: metadata.csv of LJSpeech 1.1 (the sentences; local/data.sh downloads the corpus
# and keeps only metadata.csv when it is absent). LJ_READ: LJSpeech sentences read aloud by real speakers, one folder
# per speaker (test_lj_read); GRID_S1: GRID speaker s1 (audio/, align/), whose test commands held-out voices
# speak (test_grid). Neither of the last two is downloaded: without them their test set is left out.
LJSPEECH_TEXT=${LJSPEECH_TEXT:-${ASRKIT_ROOT}/../shared/data/ljspeech_text}
LJ_READ=${LJ_READ:-${ASRKIT_ROOT}/../shared/data/lj_read}
GRID_S1=${GRID_S1:-${ASRKIT_ROOT}/../shared/data/grid_s1}
