# Corpus locations. The yesno recordings (openslr.org SLR1); local/data.sh downloads them here if absent.
YESNO=${YESNO:-${ASRKIT_ROOT}/../shared/data/yesno}
