# Corpus location: the LibriSpeech folder holding train-clean-100/, dev-clean/, dev-other/, test-clean/, test-other/.
# local/data.sh downloads the five archives from openslr.org/12 (about 7.6 GB) into downloads/ when it is absent.
LIBRISPEECH=${LIBRISPEECH:-${ASRKIT_ROOT}/../shared/data/LibriSpeech}
