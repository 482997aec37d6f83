"""The Ray engine against the local one, on one local Ray instance of 2 CPUs shared by these tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from fer.cli import main
from fer.scale.results import read_results

ray = pytest.importorskip("ray", reason="ray[data] is in requirements.txt; install it to test the Ray engine")

ROOT = Path(__file__).resolve().parent.parent


def uses_ray(test):
    """A test on the local Ray instance (started once for the module, with its worker processes):
    outside the inner loop. The tests without the mark never start Ray."""
    return pytest.mark.slow(pytest.mark.usefixtures("local_ray")(test))


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    from fer.scale.ray_engine import connect

    connect(None, cpus=2, object_store_bytes=100 * 1024**2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for name in ("justin.jpg", "couple.jpg", "no-faces.jpg", "portrait.jpg"):
        shutil.copy(media / name, folder / name)
    (folder / "fake.jpg").write_text("this is text with an image extension")
    (folder / "empty.png").write_bytes(b"")
    jpeg = (media / "portrait.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    return folder


def rows(out: str | Path) -> pd.DataFrame:
    return read_results(out).sort_values(["file", "face"], na_position="first").reset_index(drop=True)


@uses_ray
def test_both_engines_write_the_same_rows(photos: Path, tmp_path: Path) -> None:
    assert main(["label", str(photos), "--out", str(tmp_path / "local.csv")]) == 1  # some files failed
    assert main(["label", str(photos), "--engine", "ray", "--workers", "2", "--out", str(tmp_path / "ray.parquet")]) == 1
    assert (tmp_path / "ray.parquet").is_dir()  # Ray's writers: a folder of parts
    local, distributed = rows(tmp_path / "local.csv"), rows(tmp_path / "ray.parquet")
    pd.testing.assert_frame_equal(local, distributed)
    statuses = dict(zip(distributed.file.map(lambda f: Path(f).name), distributed.status, strict=False))
    assert statuses["empty.png"] == "error: empty file (0 bytes)"
    assert statuses["fake.jpg"].startswith("error: not an image")
    assert statuses["truncated.jpg"].startswith("error: corrupt or truncated")
    assert statuses["no-faces.jpg"] == "no face"
    assert (distributed[distributed.file.str.endswith("couple.jpg")].status == "ok").sum() == 2


@uses_ray
def test_a_rerun_labels_only_the_files_not_in_the_output_yet(photos: Path, media: Path, tmp_path: Path, capsys) -> None:
    out = f"file://{tmp_path}/rows.csv"  # a URI, read and written through pyarrow like s3:// would be
    assert main(["label", f"file://{photos}/*.jpg", "--engine", "ray", "--out", out]) == 1
    assert (tmp_path / "rows.csv").is_dir()
    first = rows(out)
    assert sorted(Path(f).name for f in first.file.unique()) == ["couple.jpg", "fake.jpg", "justin.jpg", "no-faces.jpg",
                                                              "portrait.jpg", "truncated.jpg"]
    shutil.copy(media / "justin.jpg", photos / "again.jpg")
    try:
        assert main(["label", f"file://{photos}/*.jpg", "--engine", "ray", "--out", out]) == 0
    finally:
        (photos / "again.jpg").unlink()
    assert f"appending to {out}: 6 of 7 file(s) already there skipped" in capsys.readouterr().out
    second = rows(out)
    assert len(second) == len(first) + 1 and second.file.str.endswith("again.jpg").sum() == 1
    assert main(["label", f"file://{photos}/*.jpg", "--engine", "ray", "--out", out]) == 0  # nothing left to do


def test_ray_refuses_what_it_cannot_do(media: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="label these video"):
        main(["label", str(media / "test.mp4"), "--engine", "ray", "--out", str(tmp_path / "v.parquet")])
    with pytest.raises(SystemExit, match="name an --out"):
        main(["label", str(media / "justin.jpg"), "--engine", "ray"])
    with pytest.raises(SystemExit, match="--annotated goes with the local engine"):
        main(["label", str(media / "justin.jpg"), "--engine", "ray", "--out", str(tmp_path / "a.csv"), "--annotated", str(tmp_path)])
    with pytest.raises(SystemExit, match="go with --engine ray"):
        main(["label", str(media / "justin.jpg"), "--workers", "2"])
    with pytest.raises(SystemExit, match="object storage goes with --engine ray"):
        main(["label", str(media / "justin.jpg"), "--out", "s3://bucket/rows.parquet"])


def test_the_app_and_the_local_labeller_never_import_ray(media: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "import appkit, fer.live, fer.labelling\n"
        "from fer.cli import main\n"
        f"assert main(['label', {str(media / 'justin.jpg')!r}, '--out', {str(tmp_path / 'rows.parquet')!r}]) == 0\n"
        "print('loaded:', sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("loaded: []")


@uses_ray
def test_an_adapter_travels_to_the_workers_and_reads_as_it_does_locally(photos: Path, tmp_path: Path) -> None:
    from test_adapter import synthetic_adapter

    from fer.classifier import DEFAULT_MODEL, embedding_file
    from fer.metrics import file_sha256

    adapter = tmp_path / "mine.adapter"
    synthetic_adapter(file_sha256(embedding_file(DEFAULT_MODEL)), size=512, seed=3).save(adapter)
    assert main(["label", str(photos), "--adapter", str(adapter), "--out", str(tmp_path / "local.csv")]) == 1
    assert main(["label", str(photos), "--adapter", str(adapter), "--engine", "ray", "--workers", "2",
                 "--out", str(tmp_path / "ray.parquet")]) == 1
    local, distributed = rows(tmp_path / "local.csv"), rows(tmp_path / "ray.parquet")
    pd.testing.assert_frame_equal(local, distributed)
    assert main(["label", str(photos), "--out", str(tmp_path / "plain.csv")]) == 1
    plain = rows(tmp_path / "plain.csv")
    faces = plain.status == "ok"
    assert not plain[faces].confidence.equals(local[faces].confidence)  # the adapter was read, not dropped
    stranger = tmp_path / "stranger.adapter"
    synthetic_adapter("c" * 64, size=512).save(stranger)
    with pytest.raises(SystemExit, match="another model"):  # refused before a job starts
        main(["label", str(photos), "--adapter", str(stranger), "--engine", "ray", "--out", str(tmp_path / "x.parquet")])
