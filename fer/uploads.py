"""Turn uploaded files (images and .zip archives) into named image payloads, in memory.

Archives are read defensively: members with absolute or ``..`` paths, nested archives, too many
members, or too many bytes once uncompressed are refused with a reason, per member where that is
possible and for the whole archive where it is not. Nothing is extracted to disk.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from fer.imaging import IMAGE_SUFFIXES

ARCHIVE_SUFFIXES = frozenset({".zip"})
MAX_MEMBERS = 2000
MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB of pictures is plenty for one batch
MAX_MEMBER_BYTES = 64 << 20  # one photo


@dataclass(frozen=True)
class Upload:
    """One file to label: its display name (``archive.zip/dir/photo.jpg`` for members) and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Rejected:
    """An uploaded file or archive member that will not be labelled, and why."""

    name: str
    reason: str


def expand_uploads(files: Iterable[tuple[str, bytes]]) -> Iterator[Upload | Rejected]:
    """Images pass through; each archive yields its image members (or the reasons it cannot), one
    member read at a time: a consumer that drops each before the next holds one photo's bytes."""
    for name, data in files:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix in ARCHIVE_SUFFIXES:
            yield from read_archive(name, data)
        else:
            yield Upload(name, data)


def count_uploads(files: Iterable[tuple[str, bytes]]) -> int:
    """How many images ``expand_uploads`` will try to read, from the archives' directories alone
    (no member is decompressed): the total a progress bar counts to."""
    count = 0
    for name, data in files:
        if PurePosixPath(name).suffix.lower() not in ARCHIVE_SUFFIXES:
            count += 1
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = _archive_members(name, archive)
        except zipfile.BadZipFile:
            continue
        if not isinstance(members, Rejected):
            count += sum(_member_problem(member) is None for member in members)
    return count


def read_archive(name: str, data: bytes) -> Iterator[Upload | Rejected]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        yield Rejected(name, "not a readable zip archive")
        return
    with archive:
        members = _archive_members(name, archive)
        if isinstance(members, Rejected):
            yield members
            return
        for member in members:
            yield _read_member(archive, name, member)


def _archive_members(name: str, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo] | Rejected:
    """The archive's files, or why the whole archive is refused."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_MEMBERS:
        return Rejected(name, f"{len(members)} files in the archive, more than the {MAX_MEMBERS} allowed")
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        return Rejected(name, f"{total / 2**20:.0f} MiB uncompressed, over the {MAX_UNCOMPRESSED_BYTES >> 20} MiB limit")
    return members


def _member_problem(member: zipfile.ZipInfo) -> str | None:
    """Why a member is not read, from its header alone; None where it will be."""
    path = PurePosixPath(member.filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        return "unsafe path inside the archive (absolute or '..')"
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return "archives inside archives are not opened"
    if suffix not in IMAGE_SUFFIXES:
        return f"not an image file ({suffix or 'no extension'})"
    if member.file_size > MAX_MEMBER_BYTES:
        return f"{member.file_size >> 20} MiB, over the {MAX_MEMBER_BYTES >> 20} MiB per-image limit"
    return None


def _read_member(archive: zipfile.ZipFile, archive_name: str, member: zipfile.ZipInfo) -> Upload | Rejected:
    display = f"{archive_name}/{member.filename}"
    problem = _member_problem(member)
    if problem is not None:
        return Rejected(display, problem)
    try:
        # zipfile stops at the size the header declares (checked against MAX_MEMBER_BYTES above) and
        # checks the CRC there: a member that holds more than its header says fails that check.
        with archive.open(member) as f:
            payload = f.read()
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        return Rejected(display, f"could not be extracted ({exc})")
    return Upload(display, payload)
