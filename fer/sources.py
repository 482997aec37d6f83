"""What a bulk job labels: files, folders and globs on this machine, or URIs of the filesystems
pyarrow reads as ``scheme://bucket/key`` (``s3://``, ``gs://``, ``file://``), listed once by the driver.

Each file is named as the output rows call it: the path as given (a folder's files under it,
exactly as the local labeller always named them), or the URI in full. Nothing here decodes:
reading gives bytes, and a file that cannot be read becomes an :class:`~fer.imaging.ImageError`,
so that it ends up as an error row like any corrupt image.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
from collections.abc import Collection, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer.imaging import IMAGE_SUFFIXES, ImageError, decode_image
from fer.video import VIDEO_SUFFIXES

if TYPE_CHECKING:
    from pyarrow import fs as pafs

logger = logging.getLogger(__name__)

GLOB_CHARS = "*?["
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


def is_uri(path: str) -> bool:
    return "://" in path


def list_sources(paths: Iterable[str | Path], suffixes: Collection[str] = MEDIA_SUFFIXES) -> list[str]:
    """Every file the paths name, in order: a file as given (whatever its suffix: a wrong one
    becomes an error row), a folder's or a glob's files with one of ``suffixes`` (sorted). A path
    that names nothing is kept, so that it becomes an error row too."""
    sources: list[str] = []
    for path in map(str, paths):
        found = _list_uri(path, suffixes) if is_uri(path) else _list_local(path, suffixes)
        if not found:
            logger.warning("%s: no files to label there", path)
        sources.extend(found)
    return sources


def _list_local(path: str, suffixes: Collection[str]) -> list[str]:
    matches = sorted(glob.glob(path, recursive=True)) if any(c in path for c in GLOB_CHARS) else [path]
    sources: list[str] = []
    for match in map(Path, matches):
        if match.is_dir():
            files = sorted(p for p in match.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            sources.extend(str(p) for p in files)
        elif match.is_file() or len(matches) == 1:  # a missing file named outright is kept
            sources.append(str(match))
    return sources


def _list_uri(uri: str, suffixes: Collection[str]) -> list[str]:
    from pyarrow import fs as pafs

    scheme = uri[: uri.index("://") + 3]
    filesystem, path = _filesystem(uri)
    glob_at = min((path.find(c) for c in GLOB_CHARS if c in path), default=-1)
    base = path if glob_at < 0 else path[:glob_at].rsplit("/", 1)[0]
    info = filesystem.get_file_info(base)
    if glob_at < 0 and info.type != pafs.FileType.Directory:
        return [uri]  # a file, or a missing one: an error row
    if info.type != pafs.FileType.Directory:
        return []
    listed = filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
    files = sorted(
        f.path for f in listed
        if f.type == pafs.FileType.File and Path(f.path).suffix.lower() in suffixes
        and (glob_at < 0 or _glob_match(f.path, path))
    )
    return [scheme + f for f in files]


def _glob_match(path: str, pattern: str) -> bool:
    """fnmatch, with ``**/`` also matching no folder at all, as in ``glob(recursive=True)``."""
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


def suffix(path: str) -> str:
    return Path(path.rsplit("/", 1)[-1]).suffix.lower()


def exists(path: str) -> bool:
    """Whether a path or a URI names a file or a folder."""
    if not is_uri(path):
        return Path(path).exists()
    from pyarrow import fs as pafs

    filesystem, inner = _filesystem(path)
    return filesystem.get_file_info(inner).type != pafs.FileType.NotFound


def read_image(source: str) -> np.ndarray:
    """A file's or a URI's image as RGB uint8; ImageError with the reason where that fails."""
    return decode_image(read_bytes(source))


def read_bytes(source: str) -> bytes:
    """A file's or a URI's bytes; ImageError with the reason where it cannot be read."""
    try:
        if not is_uri(source):
            with open(source, "rb") as f:
                return f.read()
        filesystem, path = _filesystem(source)
        with filesystem.open_input_file(path) as f:
            return f.read()
    except OSError as exc:
        raise ImageError(f"cannot read file: {exc.strerror or exc}") from None


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem behind a URI (``scheme://bucket/key``) and the path in it (``bucket/key``)."""
    scheme, path = uri.split("://", 1)
    return _scheme_filesystem(scheme, path.split("/", 1)[0]), path


@lru_cache(maxsize=16)
def _scheme_filesystem(scheme: str, bucket: str) -> pafs.FileSystem:
    """One filesystem per bucket and process: making one (credentials, a region lookup) costs far
    more than reading a photo."""
    from pyarrow import fs as pafs

    if scheme == "file":
        return pafs.LocalFileSystem()
    return pafs.FileSystem.from_uri(f"{scheme}://{bucket}")[0]
