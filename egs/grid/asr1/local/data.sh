#!/usr/bin/env bash
# GRID s1 data dirs: of the 1000 utterances sorted by id, every 20th (index 0, 20, ...) is dev and every 20th from
# index 10 is test (50 each, spread over the whole grammar); the other 900 train. The transcript is the word
# alignment without its `sil` entries.
set -euo pipefail
. ./path.sh
. parse_options.sh
. ./db.sh

if [ ! -d "${GRID_S1}/audio" ]; then
  echo "local/data.sh: ${GRID_S1}/audio is absent: set GRID_S1 to a copy of GRID speaker s1 (audio/*.flac, align/*.align)" >&2
  exit 1
fi

python3 - "${GRID_S1}" <<'PY'
import sys
from pathlib import Path
from asrkit.data.datadir import write_data_dir

corpus = Path(sys.argv[1]).resolve()
sets = {"train": {}, "dev": {}, "test": {}}
for index, flac in enumerate(sorted((corpus / "audio").glob("*.flac"))):
    align = corpus / "align" / f"{flac.stem}.align"
    if not align.is_file():
        sys.exit(f"local/data.sh: {align}: missing (the transcript of {flac})")
    words = [line.split()[2] for line in align.read_text().splitlines() if line.strip()]
    name = {0: "dev", 10: "test"}.get(index % 20, "train")
    sets[name][f"s1_{flac.stem}"] = (flac, " ".join(w for w in words if w != "sil"))
for name, utts in sets.items():
    write_data_dir(f"data/{name}", {u: str(f) for u, (f, _) in utts.items()},
                   {u: t for u, (_, t) in utts.items()}, {u: "s1" for u in utts})
    print(f"local/data.sh: data/{name}: {len(utts)} utterances")
PY
