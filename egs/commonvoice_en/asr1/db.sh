# Corpus location: a Common Voice English release's language folder (cv-corpus-<version>/en/, holding clips/ and
# train.tsv, dev.tsv, test.tsv). Common Voice is downloaded by hand (commonvoice.mozilla.org asks for an e-mail
# address and the terms); local/data.sh says so when this path is absent.
COMMONVOICE=${COMMONVOICE:-${ASRKIT_ROOT}/../shared/data/commonvoice/en}
