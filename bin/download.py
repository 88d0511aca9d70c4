#!/usr/bin/env python3
"""download.py URL DEST: fetch a corpus archive once; the file appears only when complete (temp + rename)."""

import os
import sys
import urllib.request
from pathlib import Path


def main(url: str, dest: str):
    target = Path(dest)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    print(f"download.py: {url} -> {target}", file=sys.stderr)
    urllib.request.urlretrieve(url, partial)
    os.replace(partial, target)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: download.py URL DEST")
    main(*sys.argv[1:])
