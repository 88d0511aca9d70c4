#!/usr/bin/env bash
# FSDD data dirs. The official split puts takes 0-4 in test and takes 5-49 in training. One speaker
# (--unseen_speaker) is left out of training entirely: all 500 of its recordings form test_unseen, so `test`
# holds the other five speakers' takes 0-4 (250). Of their training takes, 5 and 6 validate (dev, 100).
set -euo pipefail
unseen_speaker=theo
. ./path.sh
. parse_options.sh
. ./db.sh
download_url=https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz

if [ ! -d "${FSDD}/recordings" ]; then
  echo "local/data.sh: ${FSDD}/recordings is absent: downloading ${download_url}"
  download.py "${download_url}" downloads/fsdd.tar.gz
  tar -xzf downloads/fsdd.tar.gz -C downloads
  FSDD=$(pwd)/downloads/free-spoken-digit-dataset-1.0.10
fi

python3 - "${FSDD}/recordings" "${unseen_speaker}" <<'PY'
import sys
from asrkit.data.fsdd import OFFICIAL_TEST_TAKES, read_recordings, write_recordings

recordings, unseen = read_recordings(sys.argv[1]), sys.argv[2]
sets = {"train": [], "dev": [], "test": [], "test_unseen": []}
for rec in recordings:
    if rec.speaker == unseen:
        sets["test_unseen"].append(rec)
    elif rec.take in OFFICIAL_TEST_TAKES:
        sets["test"].append(rec)
    else:
        sets["dev" if rec.take < 7 else "train"].append(rec)
if not sets["test_unseen"]:
    sys.exit(f"local/data.sh: no recordings of speaker '{unseen}' in {sys.argv[1]}")
for name, recs in sets.items():
    write_recordings(f"data/{name}", recs)
    print(f"local/data.sh: data/{name}: {len(recs)} utterances")
PY
