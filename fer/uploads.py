"""Turn uploaded files (images and .zip archives) into named image payloads, in memory.

Archives are read defensively: members with absolute or ``..`` paths, nested archives, too many
members, or too many bytes once uncompressed are refused with a reason, per member where that is
possible and for the whole archive where it is not. A member is never inflated past the size its
header declares, whatever its compression, so a small zip cannot buy a large allocation. Nothing
is extracted to disk.

Every reader of a path inside an archive or under a folder goes through ``member_path`` and
``is_system_file``: one rule for separators, ``..``, absolute paths and desktop metadata.
"""

from __future__ import annotations

import io
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from fer.imaging import IMAGE_SUFFIXES

ARCHIVE_SUFFIXES = frozenset({".zip"})
MAX_MEMBERS = 2000
MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB of pictures is plenty for one batch
MAX_MEMBER_BYTES = 64 << 20  # one photo

# What Finder, Explorer and friends leave beside the files a person meant to zip: never images.
SYSTEM_FOLDERS = frozenset({"__macosx"})
SYSTEM_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")
# What zipfile raises on a damaged archive, besides BadZipFile (tests/test_uploads.py's fuzz test
# found UnicodeDecodeError, a ValueError, for a name whose header claims UTF-8).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, IndexError, OverflowError,
              struct.error, RuntimeError, NotImplementedError)
CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    """One file to label: its display name (``archive.zip/dir/photo.jpg`` for members) and bytes
    (an archive member's are the buffer it was read into, not copied again)."""

    name: str
    data: bytes | bytearray


@dataclass(frozen=True)
class Rejected:
    """An uploaded file or archive member that will not be labelled, and why."""

    name: str
    reason: str


def member_path(raw: str) -> PurePosixPath | None:
    """A path inside an archive (or under a folder) as every reader here reads it: ``\\`` is a
    separator (PowerShell's ``Compress-Archive`` writes it), empty and ``.`` parts are dropped.
    None where the path is absolute (``/x``, ``C:x``) or climbs out with ``..``."""
    text = raw.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        return None
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None
    return PurePosixPath(*parts)


def is_system_file(path: PurePosixPath) -> bool:
    """macOS and Windows metadata (``__MACOSX/``, ``._name`` twins, ``.DS_Store``, ``Thumbs.db``,
    ``desktop.ini``): skipped without a message, since nobody put them there on purpose."""
    return (any(part.lower() in SYSTEM_FOLDERS for part in path.parts[:-1])
            or path.name.startswith("._") or path.name.lower() in SYSTEM_NAMES)


def system_files_line(names: list[str]) -> str | None:
    """The one line that says how many system files were skipped; None where there were none."""
    if not names:
        return None
    return f"{len(names)} macOS/Windows system file(s) skipped (__MACOSX/, ._*, .DS_Store, Thumbs.db, desktop.ini)"


def expand_uploads(files: Iterable[tuple[str, bytes]], system_files: list[str] | None = None
                   ) -> Iterator[Upload | Rejected]:
    """Images pass through; each archive yields its image members (or the reasons it cannot), one
    member read at a time: a consumer that drops each before the next holds one photo's bytes.
    System files inside archives are left out, their names appended to ``system_files``."""
    for name, data in files:
        if PurePosixPath(name).suffix.lower() in ARCHIVE_SUFFIXES:
            yield from read_archive(name, data, system_files)
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
        archive = open_archive(name, data)
        if isinstance(archive, Rejected):
            continue
        with archive:
            members = _archive_members(name, archive)
        if not isinstance(members, Rejected):
            count += sum(_member_problem(member) is None for member in members)
    return count


def open_archive(name: str, data: bytes) -> zipfile.ZipFile | Rejected:
    """The archive, or why it is refused. Its end record's entry count is read first: zipfile builds
    a record for every entry of the central directory before anyone can count them, and a 200 MB
    upload can hold millions of empty ones."""
    try:
        end = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]  # stable since Python 2
        if end is None:
            return Rejected(name, "not a readable zip archive")
        entries = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
        if entries > 2 * MAX_MEMBERS + 2:  # with room for a Finder zip's ._ twins and folders
            return Rejected(name, f"{entries} entries in the archive, more than the {MAX_MEMBERS} files allowed")
        return zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS:
        return Rejected(name, "not a readable zip archive")


def read_archive(name: str, data: bytes, system_files: list[str] | None = None) -> Iterator[Upload | Rejected]:
    archive = open_archive(name, data)
    if isinstance(archive, Rejected):
        yield archive
        return
    with archive:
        members = _archive_members(name, archive)
        if isinstance(members, Rejected):
            yield members
            return
        if system_files is not None:
            listed = {m.filename for m in members}
            system_files += [f"{name}/{member_path(m.filename)}" for m in archive.infolist()
                             if m.filename not in listed and not m.filename.endswith("/")]
        budget = MAX_UNCOMPRESSED_BYTES  # of bytes actually read, not of what the headers say
        for member in members:
            item = _read_member(archive, name, member, budget)
            if isinstance(item, Upload):
                budget -= len(item.data)
            yield item


def _archive_members(name: str, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo] | Rejected:
    """The archive's files, or why the whole archive is refused (from the headers: a fast answer
    for an honest archive; a lying one is caught member by member as it is read)."""
    # is_dir() fails on an empty name; system files (a Finder zip's ._ twins) are not counted.
    members = [m for m in archive.infolist() if not m.filename.endswith("/")
               and not ((path := member_path(m.filename)) is not None and is_system_file(path))]
    if len(members) > MAX_MEMBERS:
        return Rejected(name, f"{len(members)} files in the archive, more than the {MAX_MEMBERS} allowed")
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        return Rejected(name, f"{total / 2**20:.0f} MiB uncompressed, over the {MAX_UNCOMPRESSED_BYTES >> 20} MiB limit")
    return members


def _member_problem(member: zipfile.ZipInfo) -> str | None:
    """Why a member is not read, from its header alone; None where it will be (system files never
    get here: ``_archive_members`` leaves them out)."""
    path = member_path(member.filename)
    if path is None:
        return "unsafe path inside the archive (absolute or '..')"
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return "archives inside archives are not opened"
    if suffix not in IMAGE_SUFFIXES:
        return f"not an image file ({suffix or 'no extension'})"
    if member.file_size > MAX_MEMBER_BYTES:
        return f"{member.file_size >> 20} MiB, over the {MAX_MEMBER_BYTES >> 20} MiB per-image limit"
    return None


def _read_member(archive: zipfile.ZipFile, archive_name: str, member: zipfile.ZipInfo, budget: int) -> Upload | Rejected:
    path = member_path(member.filename)
    display = f"{archive_name}/{path if path is not None else member.filename}"
    problem = _member_problem(member)
    if problem is not None:
        return Rejected(display, problem)
    if member.file_size > budget:
        return Rejected(display, f"the archive's images pass {MAX_UNCOMPRESSED_BYTES >> 20} MiB once read: "
                                 "the rest are not read")
    try:
        payload = _read_bounded(archive, member)
    except ZIP_ERRORS as exc:
        return Rejected(display, f"could not be extracted ({exc})")
    if payload is None:
        return Rejected(display, f"holds more than the {member.file_size} bytes its header declares")
    return Upload(display, payload)


def _read_bounded(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytearray | None:
    """The member's bytes, read in chunks into one buffer of its declared size + 1: a plain read()
    inflates a lying member whole, and even a bounded read(n) holds several copies of n while it
    joins its pieces (tests/test_uploads.py measures both). None where it holds more than declared."""
    buffer = bytearray(member.file_size + 1)
    view, filled = memoryview(buffer), 0
    with archive.open(member) as f:
        while filled <= member.file_size and (chunk := f.read(min(CHUNK, member.file_size + 1 - filled))):
            view[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
    if filled > member.file_size:
        return None
    del view
    del buffer[filled:]
    return buffer
