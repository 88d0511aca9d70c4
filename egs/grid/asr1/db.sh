# Corpus locations. GRID speaker s1 (audio 16 kHz FLAC + word alignments); there is no download of it.
GRID_S1=${GRID_S1:-${ASRKIT_ROOT}/../shared/data/grid_s1}
