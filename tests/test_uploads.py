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


def _patch_central_directory(archive: bytes, offset: int, value: bytes) -> bytes:
    """``archive`` with ``value`` written at ``offset`` of its (one) central directory record."""
    at = archive.index(b"PK\x01\x02") + offset
    return archive[:at] + value + archive[at + len(value):]


def test_a_photo_over_the_per_image_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_MEMBER_BYTES", 1 << 20)
    archive = make_zip({"big.jpg": b"\0" * (2 << 20), "small.jpg": b"ok"})
    items = by_name(list(expand_uploads([("set.zip", archive)])))
    assert "over the 1 MiB per-image limit" in items["set.zip/big.jpg"].reason
    assert items["set.zip/small.jpg"] == Upload("set.zip/small.jpg", b"ok")


def test_a_member_larger_than_its_header_says_is_refused() -> None:
    honest = make_zip({"liar.jpg": b"x" * 1000}, zipfile.ZIP_STORED)
    # The central directory's uncompressed size (offset 24) says 10 bytes; 1000 are stored.
    liar = _patch_central_directory(honest, 24, (10).to_bytes(4, "little"))
    (item,) = expand_uploads([("set.zip", liar)])
    assert item == Rejected("set.zip/liar.jpg", "could not be extracted (Bad CRC-32 for file 'liar.jpg')")


def test_an_encrypted_member_is_refused_with_a_reason() -> None:
    plain = make_zip({"secret.jpg": b"x" * 100}, zipfile.ZIP_STORED)
    encrypted = _patch_central_directory(plain, 8, (1).to_bytes(2, "little"))  # flag bit 0: encrypted
    (item,) = expand_uploads([("set.zip", encrypted)])
    assert isinstance(item, Rejected) and item.reason.startswith("could not be extracted") and "encrypted" in item.reason


def test_a_backslash_path_out_of_the_archive_is_refused() -> None:
    archive = make_zip({"..\\..\\evil.jpg": b"x", "ok\\fine.jpg": b"y"})
    items = by_name(list(expand_uploads([("set.zip", archive)])))
    assert "unsafe path" in items["set.zip/..\\..\\evil.jpg"].reason
    assert items["set.zip/ok\\fine.jpg"] == Upload("set.zip/ok\\fine.jpg", b"y")


def test_count_uploads_counts_what_will_be_read_without_reading_it() -> None:
    archive = make_zip({"a.jpg": b"x", "b.png": b"y", "../c.jpg": b"z", "notes.txt": b"n"})
    assert uploads.count_uploads([("set.zip", archive), ("d.jpg", b"w"), ("bad.zip", b"nope")]) == 3
