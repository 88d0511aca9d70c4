#!/usr/bin/env bash
# yesno data dirs: Kaldi's split (the first 31 recordings, sorted, for training; the other 29 for test),
# with the last 3 training recordings held out as the validation set.
set -euo pipefail
. ./path.sh
. ./db.sh
download_url=https://www.openslr.org/resources/1/waves_yesno.tar.gz

if [ ! -d "${YESNO}" ]; then
  echo "local/data.sh: ${YESNO} is absent: downloading ${download_url}"
  download.py "${download_url}" downloads/waves_yesno.tar.gz
  tar -xzf downloads/waves_yesno.tar.gz -C downloads
  YESNO=$(pwd)/downloads/waves_yesno
fi

python3 - "${YESNO}" <<'PY'
import sys
from pathlib import Path
from asrkit.data.datadir import write_data_dir

waves = sorted(Path(sys.argv[1]).resolve().glob("*.wav"))
if len(waves) != 60:
    sys.exit(f"local/data.sh: expected 60 yesno recordings in {sys.argv[1]}, found {len(waves)}")

def write(name, files):
    utts = {f.stem: f for f in files}
    words = {u: " ".join("YES" if bit == "1" else "NO" for bit in u.split("_")) for u in utts}
    write_data_dir(f"data/{name}", {u: str(f) for u, f in utts.items()}, words, {u: "global" for u in utts})
    print(f"local/data.sh: data/{name}: {len(utts)} utterances")

write("train_nodev", waves[:28])
write("train_dev", waves[28:31])
write("test_yesno", waves[31:])
PY
