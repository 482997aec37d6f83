from __future__ import annotations

import io
import zipfile

import pytest

from fer import uploads
from fer.uploads import Rejected, Upload, expand_uploads


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def by_name(items: list[Upload | Rejected]) -> dict[str, Upload | Rejected]:
    return {item.name: item for item in items}


def test_plain_images_pass_through() -> None:
    assert list(expand_uploads([("a.jpg", b"x")])) == [Upload("a.jpg", b"x")]


def test_archive_members_are_read_and_traps_refused() -> None:
    archive = make_zip({
        "photos/a.jpg": b"jpeg-bytes",
        "../../etc/evil.jpg": b"x",
        "/abs.png": b"x",
        "inner.zip": make_zip({"b.jpg": b"y"}),
        "readme.md": b"hello",
    })
    items = by_name(list(expand_uploads([("set.zip", archive)])))
    assert items["set.zip/photos/a.jpg"] == Upload("set.zip/photos/a.jpg", b"jpeg-bytes")
    assert "unsafe path" in items["set.zip/../../etc/evil.jpg"].reason
    assert "unsafe path" in items["set.zip//abs.png"].reason
    assert "archives inside archives" in items["set.zip/inner.zip"].reason
    assert "not an image file (.md)" in items["set.zip/readme.md"].reason


def test_archive_limits_refuse_the_whole_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_MEMBERS", 3)
    many = make_zip({f"{i}.jpg": b"x" for i in range(4)})
    assert list(expand_uploads([("many.zip", many)])) == [
        Rejected("many.zip", "4 files in the archive, more than the 3 allowed")]

    monkeypatch.setattr(uploads, "MAX_UNCOMPRESSED_BYTES", 1 << 20)
    bomb = make_zip({"zeros.jpg": b"\0" * (2 << 20)})  # 2 MiB of zeros squeezes to a few KiB
    assert len(bomb) < 20_000
    (rejected,) = expand_uploads([("bomb.zip", bomb)])
    assert isinstance(rejected, Rejected) and "uncompressed, over the 1 MiB limit" in rejected.reason


def test_not_a_zip_is_rejected() -> None:
    assert list(expand_uploads([("fake.zip", b"PK but not really")])) == [Rejected("fake.zip", "not a readable zip archive")]
