"""Atomic file writes: a reader never sees a half-written file."""

import contextlib
import os
import shutil
import tempfile
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
