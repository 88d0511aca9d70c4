"""Corpus archives as downloaded: checked against the published checksum, then unpacked.

unpack(ARCHIVE, DEST) checks ARCHIVE's SHA-256 when one is given, extracts every member under DEST (tar, tar.gz,
tgz; members that would land outside DEST are refused) and then writes DEST/.<archive name>.unpacked, so a second
call skips the work and an interrupted one starts over. A truncated or corrupt archive is one error naming it.
"""

import gzip
import hashlib
import tarfile
import zlib
from pathlib import Path

from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_write
from asrkit.progress import progress_bar

CHUNK = 1 << 20  # bytes read at a time for the checksum


class ArchiveError(AsrkitError):
    """A corpus archive that is not the published file or cannot be unpacked."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in progress_bar(iter(lambda: f.read(CHUNK), b""), total=path.stat().st_size // CHUNK + 1,
                                  description=f"sha256 {path.name}"):
            digest.update(chunk)
    return digest.hexdigest()


def unpack(archive, dest, sha256: str | None = None) -> Path:
    """Extract ARCHIVE under DEST once (see the module doc); returns DEST."""
    archive, dest = Path(archive), Path(dest)
    done = dest / f".{archive.name}.unpacked"
    if done.exists():
        return dest
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such archive")
    if sha256 is not None and (actual := sha256_of(archive)) != sha256.lower():
        raise ArchiveError(f"{archive}: sha256 {actual} is not the published {sha256} ({archive.stat().st_size} "
                           f"bytes): a truncated or corrupt download; delete it and download it again")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in progress_bar(tar, total=None, description=f"unpack {archive.name}"):
                tar.extract(member, dest, filter="data")
    except tarfile.FilterError as error:  # a member outside DEST, a device file, ...: refused, not corrupt
        raise ArchiveError(f"{archive}: unsafe member refused ({error}); members before it may be extracted, the "
                           f"archive is not marked unpacked") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ArchiveError(f"{archive}: truncated or corrupt archive ({error}); delete it and download it again") from None
    with atomic_write(done) as f:
        f.write(f"{archive.resolve()}\n")
    return dest
