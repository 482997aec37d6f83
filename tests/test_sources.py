from __future__ import annotations

from pathlib import Path

import pytest

from fer.imaging import ImageError
from fer.sources import is_uri, list_sources, read_bytes, suffix


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for name in ("a.jpg", "b.PNG", "sub/c.jpg", "sub/deeper/d.webp", "notes.txt", "clip.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(name.encode())
    return tmp_path


def test_folders_give_their_media_files_sorted_and_files_are_kept_as_given(tree: Path) -> None:
    listed = list_sources([tree, tree / "notes.txt"])
    names = [Path(p).relative_to(tree).as_posix() for p in listed]
    assert names == ["a.jpg", "b.PNG", "clip.mp4", "sub/c.jpg", "sub/deeper/d.webp", "notes.txt"]
    assert listed[0] == str(tree / "a.jpg")  # named as the local labeller always named them


def test_globs_and_the_suffixes_asked_for(tree: Path) -> None:
    assert [Path(p).name for p in list_sources([f"{tree}/**/*.jpg"])] == ["a.jpg", "c.jpg"]
    assert [Path(p).name for p in list_sources([tree], suffixes={".mp4"})] == ["clip.mp4"]
    assert list_sources([f"{tree}/*.gif"]) == []


def test_a_missing_file_is_kept_so_that_it_becomes_an_error_row(tree: Path) -> None:
    missing = tree / "gone.jpg"
    assert list_sources([missing]) == [str(missing)]
    with pytest.raises(ImageError, match="cannot read file: No such file"):
        read_bytes(str(missing))


def test_uris_are_listed_and_read_through_pyarrow(tree: Path) -> None:
    uri = f"file://{tree}"
    listed = list_sources([uri])
    assert listed[0] == f"file://{tree}/a.jpg" and all(is_uri(p) for p in listed) and len(listed) == 5
    assert [p.rsplit("/", 1)[1] for p in list_sources([f"{uri}/sub/*.jpg"])] == ["c.jpg"]
    assert [p.rsplit("/", 1)[1] for p in list_sources([f"{uri}/**/*.jpg"])] == ["a.jpg", "c.jpg"]  # as glob does
    assert read_bytes(f"{uri}/sub/c.jpg") == b"sub/c.jpg"
    assert list_sources([f"{uri}/gone.jpg"]) == [f"{uri}/gone.jpg"]
    with pytest.raises(ImageError, match="cannot read file"):
        read_bytes(f"{uri}/gone.jpg")


def test_suffix_of_paths_and_uris() -> None:
    assert suffix("s3://bucket/a.b/photo.JPG") == ".jpg" and suffix("folder.d/file") == ""
