"""Deterministic .tar.gz writing: the bytes depend on content alone (reading: contents.py)."""

import gzip
import tarfile
from pathlib import Path

from voicenote_ops.bundle.contents import sha256_of

# Every entry gets this mtime (2020-02-02, hatchling's default SOURCE_DATE_EPOCH), so that
# rebuilding from a checkout with other file times gives the same bytes.
SOURCE_DATE_EPOCH = 1580601600


def _entry(name: str, *, is_dir: bool, size: int = 0, executable: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir or executable else 0o644
    info.size = size
    info.mtime = SOURCE_DATE_EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_tar_gz(source_dir: Path, top: str, destination: Path) -> None:
    """Pack source_dir as top/... with sorted entries, fixed times and owners, gzip mtime 0."""
    paths = sorted(source_dir.rglob("*"), key=lambda path: path.relative_to(source_dir).parts)
    with (
        destination.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        tar.addfile(_entry(top, is_dir=True))
        for path in paths:
            name = f"{top}/{path.relative_to(source_dir).as_posix()}"
            if path.is_dir():
                tar.addfile(_entry(name, is_dir=True))
                continue
            executable = bool(path.stat().st_mode & 0o100)
            info = _entry(name, is_dir=False, size=path.stat().st_size, executable=executable)
            with path.open("rb") as content:
                tar.addfile(info, content)


def sha256_file(path: Path) -> str:
    with path.open("rb") as stream:
        return sha256_of(stream)
