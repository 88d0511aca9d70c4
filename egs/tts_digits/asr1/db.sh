# Corpus locations. The synthetic digits need none; real FSDD, when present, is decoded as a second test set
# (Free Spoken Digit Dataset v1.0.10; never downloaded by this recipe).
FSDD=${FSDD:-${ASRKIT_ROOT}/../shared/data/fsdd}
