from __future__ import annotations

import functools
import io
import tracemalloc
import zipfile
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fer import uploads
from fer.uploads import Rejected, Upload, expand_uploads, member_path


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def by_name(items: list[Upload | Rejected]) -> dict[str, Any]:
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
    assert isinstance(item, Rejected) and item.name == "set.zip/liar.jpg"
    assert "Bad CRC-32" in item.reason or "holds more than the 10 bytes" in item.reason


def _lying_deflate_zip(declared: int, inflated: int) -> bytes:
    """One deflated member, ``inflated`` bytes of zeros, whose headers declare ``declared``."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as zip stores it
    block = bytes(1 << 20)
    stream = b"".join(compressor.compress(block) for _ in range(inflated >> 20)) + compressor.flush()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("small.jpg", b"x" * declared)  # a real member of the declared size...
    honest = buffer.getvalue()
    info = zipfile.ZipFile(io.BytesIO(honest)).infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode())
    # ...whose data is swapped for the big stream, with every compressed-size field made to match.
    body = honest[:start] + stream + honest[start + info.compress_size:]
    size = len(stream).to_bytes(4, "little")
    body = body[:info.header_offset + 18] + size + body[info.header_offset + 22:]  # local header
    central = body.index(b"PK\x01\x02")
    body = body[:central + 20] + size + body[central + 24:]
    end = body.index(b"PK\x05\x06")
    offset = (central).to_bytes(4, "little")
    return body[:end + 16] + offset + body[end + 20:]


def _expand_traced(name: str, archive: bytes) -> tuple[list[Upload | Rejected], int]:
    """``expand_uploads`` of one archive, and the peak of Python's allocations while it ran."""
    tracemalloc.start()
    try:
        items = list(expand_uploads([(name, archive)]))  # a generator: read it while traced
        return items, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_deflated_member_that_lies_about_its_size_is_refused_in_bounded_memory() -> None:
    """300 KB of upload that inflates to 64 MiB behind a header that says 100 bytes: never inflated
    past the declared size (an unbounded read holds all 64 MiB before the CRC check refuses it)."""
    bomb = _lying_deflate_zip(declared=100, inflated=64 << 20)
    assert len(bomb) < 300_000
    (item,), peak = _expand_traced("bomb.zip", bomb)
    assert isinstance(item, Rejected) and item.name == "bomb.zip/small.jpg"
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB while refusing a 100-byte member"


def test_an_honest_member_is_held_once_while_it_is_read() -> None:
    """A 32 MiB member (zeros: a few kB deflated) costs one copy of itself, not the three a bounded
    read(n) holds while it joins its pieces."""
    archive = make_zip({"big.bmp": bytes(32 << 20)})
    (item,), peak = _expand_traced("set.zip", archive)
    assert isinstance(item, Upload) and len(item.data) == 32 << 20
    assert peak < 36 << 20, f"peak {peak / 2**20:.0f} MiB for a 32 MiB member"


def test_an_encrypted_member_is_refused_with_a_reason() -> None:
    plain = make_zip({"secret.jpg": b"x" * 100}, zipfile.ZIP_STORED)
    encrypted = _patch_central_directory(plain, 8, (1).to_bytes(2, "little"))  # flag bit 0: encrypted
    (item,) = expand_uploads([("set.zip", encrypted)])
    assert isinstance(item, Rejected) and item.reason.startswith("could not be extracted") and "encrypted" in item.reason


def test_a_backslash_path_out_of_the_archive_is_refused() -> None:
    archive = make_zip({"..\\..\\evil.jpg": b"x", "ok\\fine.jpg": b"y", "C:\\x.jpg": b"z"})
    items = by_name(list(expand_uploads([("set.zip", archive)])))
    assert "unsafe path" in items["set.zip/..\\..\\evil.jpg"].reason
    assert "unsafe path" in items["set.zip/C:\\x.jpg"].reason
    assert items["set.zip/ok/fine.jpg"] == Upload("set.zip/ok/fine.jpg", b"y")  # the one path rule


def test_member_paths_follow_one_rule() -> None:
    assert str(member_path("faces\\happy\\a.jpg")) == "faces/happy/a.jpg"
    assert str(member_path("./faces//happy/./a.jpg")) == "faces/happy/a.jpg"
    assert [member_path(p) for p in ("/etc/x.jpg", "a/../../x.jpg", "D:/x.jpg", "..\\x.jpg")] == [None] * 4


def test_finder_and_windows_metadata_are_left_out_and_counted() -> None:
    archive = make_zip({"faces/happy/a.jpg": b"a", "__MACOSX/faces/happy/._a.jpg": b"apple double",
                        "faces/.DS_Store": b"d", "faces/happy/Thumbs.db": b"t", "faces/Desktop.ini": b"i",
                        "faces/happy/._b.jpg": b"twin"})
    system: list[str] = []
    items = list(expand_uploads([("set.zip", archive)], system))
    assert items == [Upload("set.zip/faces/happy/a.jpg", b"a")]
    assert len(system) == 5
    assert uploads.count_uploads([("set.zip", archive)]) == 1
    assert str(uploads.system_files_line(system)).startswith("5 macOS/Windows system file(s) skipped")
    assert uploads.system_files_line([]) is None


def test_count_uploads_counts_what_will_be_read_without_reading_it() -> None:
    archive = make_zip({"a.jpg": b"x", "b.png": b"y", "../c.jpg": b"z", "notes.txt": b"n"})
    assert uploads.count_uploads([("set.zip", archive), ("d.jpg", b"w"), ("bad.zip", b"nope")]) == 3


@functools.cache
def _sample_zip(compression: int) -> bytes:
    """A real zip (a PNG, a text file, a nested zip), made once per compression: the fuzz cases
    must be drawn from the same bytes each time Hypothesis replays them."""
    import cv2
    import numpy as np

    png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    return make_zip({"a/happy/x.png": png, "b.txt": b"text" * 50, "n.zip": make_zip({"y.png": png})}, compression)


@st.composite
def damaged_zips(draw: st.DrawFn) -> bytes:
    """A real zip (stored, deflated, bzip2 or LZMA) with some of its bytes overwritten (size fields
    among them), or cut short."""
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    data = bytearray(_sample_zip(compression))
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_zips())
def test_a_damaged_zip_gets_rows_or_a_message_and_nothing_escapes(data: bytes) -> None:
    """Every item is an Upload or a Rejected with a reason; no exception escapes; nothing read is
    larger than the per-image cap; the count a progress bar uses is never below what is read."""
    from fer.imaging import ImageError, decode_image

    items = list(expand_uploads([("fuzz.zip", data)]))
    assert all(isinstance(i, Upload | Rejected) for i in items)
    assert all(i.reason for i in items if isinstance(i, Rejected))
    read = [i for i in items if isinstance(i, Upload)]
    assert all(len(i.data) <= uploads.MAX_MEMBER_BYTES for i in read)
    assert uploads.count_uploads([("fuzz.zip", data)]) >= len(read)
    for item in read:  # what the pages do next: a decode that fails says why
        try:
            decode_image(item.data)
        except ImageError as exc:
            assert str(exc)


def test_a_central_directory_of_millions_of_entries_is_refused_from_its_end_record() -> None:
    """zipfile builds a record per entry before they can be counted: the end record says how many."""
    archive = bytearray(make_zip({"a.jpg": b"x"}))
    end = archive.rindex(b"PK\x05\x06")
    archive[end + 8:end + 12] = (60_000).to_bytes(2, "little") * 2  # entries on this disk, in all
    assert list(expand_uploads([("many.zip", bytes(archive))])) == [
        Rejected("many.zip", "60000 entries in the archive, more than the 2000 files allowed")]
    assert uploads.count_uploads([("many.zip", bytes(archive))]) == 0
