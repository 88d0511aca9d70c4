"""Atomic file writes (a reader never sees a half-written file), and file_key: the sha256 of files' contents."""

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp path beside `path` (for writers that want a file name: kaldiio, torch.save, savefig);
    it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path, mode="w", encoding="utf-8"):
    """Open a temp file beside `path`; it replaces `path` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if "b" in mode else encoding) as f:
        yield f


def copy_file(source, target):
    """shutil.copyfile, atomically: a reader sees the old target or the whole new one."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def file_key(paths: Iterable[Path]) -> str:
    """sha256 over the names, sizes and contents of the files that exist among `paths`, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        if Path(path).is_file():
            # name and size first, so that no two sets of files hash the same stream
            digest.update(f"{Path(path).name}\0{Path(path).stat().st_size}\0".encode())
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()
