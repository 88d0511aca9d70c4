# Corpus locations. Free Spoken Digit Dataset v1.0.10; local/data.sh downloads it here if absent.
FSDD=${FSDD:-${ASRKIT_ROOT}/../shared/data/fsdd}
