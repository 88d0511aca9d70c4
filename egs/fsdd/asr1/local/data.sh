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
from pathlib import Path
from asrkit.datadir import write_data_dir

recordings, unseen = Path(sys.argv[1]).resolve(), sys.argv[2]
WORDS = "zero one two three four five six seven eight nine".split()
sets = {"train": {}, "dev": {}, "test": {}, "test_unseen": {}}
for wav in sorted(recordings.glob("*.wav")):
    digit, speaker, take = wav.stem.split("_")
    take = int(take)
    if speaker == unseen:
        name = "test_unseen"
    elif take < 5:
        name = "test"
    else:
        name = "dev" if take < 7 else "train"
    sets[name][f"{speaker}_{digit}_{take:02d}"] = (wav, WORDS[int(digit)], speaker)
if not sets["test_unseen"]:
    sys.exit(f"local/data.sh: no recordings of speaker '{unseen}' in {recordings}")
for name, utts in sets.items():
    write_data_dir(f"data/{name}", {u: str(w) for u, (w, _, _) in utts.items()},
                   {u: t for u, (_, t, _) in utts.items()}, {u: s for u, (_, _, s) in utts.items()})
    print(f"local/data.sh: data/{name}: {len(utts)} utterances")
PY
