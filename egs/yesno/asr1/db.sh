# Corpus locations. The yesno recordings (openslr.org SLR1); local/data.sh downloads them here if absent.
YESNO=${YESNO:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../../../shared/data/yesno}
