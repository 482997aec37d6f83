from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fer.labelling import LabelRow, rows_to_frame
from fer.scale.results import append_local, labelled_files, output_format, read_results, rows_to_table

ROWS = [
    LabelRow("a.jpg", "ok", face=0, x=1, y=2, w=30, h=30, emotion="happy", confidence=0.8,
             probabilities=(0.05, 0.0, 0.05, 0.8, 0.05, 0.0, 0.05)),
    LabelRow("b.jpg", "no face"),
]


@pytest.mark.parametrize("name", ["rows.csv", "rows.parquet"])
def test_a_rerun_appends_to_the_rows_already_there(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    assert labelled_files(out) == set()
    append_local(ROWS[:1], out)
    append_local([ROWS[1], LabelRow("c.jpg", "error: empty file (0 bytes)")], out)
    assert labelled_files(out) == {"a.jpg", "b.jpg", "c.jpg"}
    table = read_results(out)
    expected = rows_to_frame([*ROWS, LabelRow("c.jpg", "error: empty file (0 bytes)")])
    pd.testing.assert_frame_equal(table, expected.astype(table.dtypes.to_dict()))
    assert str(table["x"].dtype) == "Int64"


def test_error_rows_alone_keep_the_schema() -> None:
    table = rows_to_table([LabelRow("c.jpg", "error: empty file (0 bytes)")])
    assert str(table.schema.field("emotion").type) == "string" and str(table.schema.field("p_happy").type) == "double"


def test_outputs_are_csv_or_parquet(tmp_path: Path) -> None:
    assert output_format(Path("x.PARQUET")) == "parquet"
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        output_format(Path("rows.xlsx"))
    (tmp_path / "job.csv").mkdir()
    with pytest.raises(ValueError, match="folder of a Ray job"):
        append_local(ROWS, tmp_path / "job.csv")
