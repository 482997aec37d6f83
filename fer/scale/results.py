"""The bulk output as a table: one fixed schema for every engine and format, so that a job's parts
(a Ray job writes many) and its re-runs append to one table, and what a re-run may skip.

``--out`` ending in ``.csv`` or ``.parquet``: the local engine writes one file there, a Ray job a
folder of part files by that name (Ray's writers; a path, or a URI such as ``s3://bucket/rows.parquet``),
which pandas and pyarrow read as one table (``pd.read_parquet("results.parquet")``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from fer.emotions import EMOTIONS
from fer.labelling import LabelRow, rows_to_frame
from fer.sources import exists, is_uri, suffix

logger = logging.getLogger(__name__)

FORMATS = (".csv", ".parquet")
_INTEGERS = ("frame", "face", "track", "x", "y", "w", "h")

ROW_SCHEMA = pa.schema(
    [("file", pa.string()), ("status", pa.string()), ("frame", pa.int64()), ("time_s", pa.float64()),
     ("face", pa.int64()), ("track", pa.int64())]
    + [(c, pa.int64()) for c in ("x", "y", "w", "h")]
    + [("emotion", pa.string()), ("confidence", pa.float64())]
    + [(f"p_{name}", pa.float64()) for name in EMOTIONS]
)


def output_format(out: str | Path) -> str:
    if suffix(str(out)) not in FORMATS:
        raise ValueError(f"{out}: the output must end in {' or '.join(FORMATS)}")
    return suffix(str(out))[1:]


def rows_to_table(rows: Iterable[LabelRow]) -> pa.Table:
    """Rows as Arrow with the one schema (a batch of error rows only has no emotions, and must not
    write a column of another type than the next batch's)."""
    return pa.Table.from_pylist([row.flat() for row in rows], schema=ROW_SCHEMA)


def read_results(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows in ``out``, a file or a Ray job's folder of parts (a path or a URI), in the one schema."""
    import pyarrow.dataset as ds

    fmt = output_format(out)
    file_format = ds.CsvFileFormat(convert_options=_csv_types()) if fmt == "csv" else ds.ParquetFileFormat()
    table = ds.dataset(str(out), format=file_format, schema=ROW_SCHEMA).to_table(columns=columns)
    frame = table.to_pandas()
    return frame.astype({c: "Int64" for c in _INTEGERS if c in frame.columns})


def _csv_types():  # -> pyarrow.csv.ConvertOptions
    from pyarrow import csv

    return csv.ConvertOptions(column_types=ROW_SCHEMA, strings_can_be_null=True)


def labelled_files(out: str | Path) -> set[str]:
    """The files that already have rows in ``out`` (error rows included: a corrupt file stays
    corrupt; delete the output to label everything again). Empty where ``out`` is not there."""
    if not exists(str(out)):
        return set()
    return set(read_results(out, ["file"])["file"])


def remove_output(out: str | Path) -> None:
    """Delete a local output file (``label --overwrite``); a Ray job's folder of parts or an object
    store's output is not deleted here."""
    path = Path(out)
    if is_uri(str(out)) or path.is_dir():
        raise ValueError(f"--overwrite deletes a local output file; remove {out} yourself")
    path.unlink(missing_ok=True)


def append_local(rows: list[LabelRow], out: Path) -> None:
    """Write rows to a one-file output, after the rows a previous run left there."""
    if out.is_dir():
        raise ValueError(f"{out} is a folder of a Ray job's parts: go on with --engine ray, or name another --out")
    if output_format(out) == "csv":
        rows_to_frame(rows).to_csv(out, index=False, mode="a" if out.exists() else "w", header=not out.exists())
        return
    import pyarrow.parquet as pq

    new = rows_to_table(rows)
    pq.write_table(pa.concat_tables([pq.read_table(out, schema=ROW_SCHEMA), new]) if out.exists() else new, out)
