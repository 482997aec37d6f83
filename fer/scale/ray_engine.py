"""Bulk labelling as a Ray Data job: the same per-photo work as ``fer.labelling``, on a cluster.

The driver lists the files (``fer.sources``) and hands Ray a table of their names. A fixed
pool of :class:`LabelWorker` actors, one CPU each, loads the detector and the classifier once and
then, batch after batch, reads each file's bytes from wherever it lives, decodes and labels it;
Ray's own writers append the rows to the output folder. Reading inside the worker keeps the
photos' bytes out of the object store, which then only carries names and rows. Videos stay with
the local engine (a clip is one long sequential decode, not a batch of independent items).

Ray is imported here only: the app and the local CLI never load it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import ray

import fer
from fer.adapter import Adapter
from fer.classifier import EmotionClassifier
from fer.detection import DEFAULT_DETECTOR, DEFAULT_MIN_SCORE, make_detector
from fer.labelling import BulkLabeller
from fer.pipeline import EmotionPipeline
from fer.scale.results import ROW_SCHEMA, output_format, read_results, rows_to_table

logger = logging.getLogger(__name__)

# Each worker's share of the object store is a few batches of names and rows: 256 MB is ample, and
# leaves the memory to the workers (Ray's default takes 30% of the machine).
OBJECT_STORE_BYTES = 256 * 1024**2
# Output files of many batches each: a million photos make tens of files, not tens of thousands.
ROWS_PER_FILE = 50_000


@dataclass(frozen=True)
class LabelSettings:
    """What every worker builds its pipeline from; the model travels as bytes, so that a cluster's
    nodes need the package's requirements but not this checkout."""

    model: bytes
    detector: str = DEFAULT_DETECTOR
    min_score: float = DEFAULT_MIN_SCORE
    thorough: bool = False
    crops: bool = False
    # An adapter's file (fer.adapter), which travels as bytes too; then ``model`` is the embedding
    # file it was fit with (``fer.classifier.embedding_file``).
    adapter: bytes | None = None


@dataclass(frozen=True)
class RayJob:
    address: str | None = None  # a running cluster ("ray://host:10001", "auto"); None: start one here
    workers: int | None = None  # actors in the pool; None: one per CPU of the cluster
    batch_size: int = 64


@dataclass(frozen=True)
class JobSummary:
    files: int
    rows: int
    failed: list[str]


class LabelWorker:
    """A Ray actor: the pipeline loaded once, then batches of file names in, face rows out."""

    def __init__(self, settings: LabelSettings) -> None:
        cv2.setNumThreads(1)  # one CPU per worker: the pool, not the threads, fills the cores
        adapter = None if settings.adapter is None else Adapter.from_bytes(settings.adapter)
        classifier = EmotionClassifier.from_litert(settings.model, settings.thorough, threads=1, adapter=adapter)
        pipeline = EmotionPipeline(make_detector(settings.detector, settings.min_score, threads=1), classifier,
                                   crops=settings.crops)
        self.labeller = BulkLabeller(pipeline)  # the local engine's own code: the same rows

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        return rows_to_table(self.labeller.label(str(name) for name in batch["file"]))


def connect(address: str | None, cpus: int | None = None, object_store_bytes: int = OBJECT_STORE_BYTES) -> None:
    """Join the cluster at ``address``, or start a local one of ``cpus`` (default: this machine's)."""
    if ray.is_initialized():
        return
    # Workers import fer from this package's files, shipped with the job: a cluster's nodes need
    # only requirements.txt installed.
    runtime_env = {"py_modules": [str(Path(fer.__file__).parent)]}
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    else:
        ray.init(num_cpus=cpus or os.cpu_count(), object_store_memory=object_store_bytes, include_dashboard=False,
                 runtime_env=runtime_env, log_to_driver=False)
    logger.info("Ray cluster: %s", ray.cluster_resources())


def label_with_ray(files: list[str], settings: LabelSettings, out: str, job: RayJob = RayJob()) -> JobSummary:
    """Label ``files`` (names from ``fer.sources.list_sources``; images: the caller keeps videos
    to the local engine) into ``out``, a folder (a path or a URI) of Parquet or CSV parts that may hold earlier
    runs' parts already (``fer.scale.results.labelled_files`` says which files to skip)."""
    fmt = output_format(out)
    todo = list(dict.fromkeys(files))
    if not todo:
        return JobSummary(0, 0, [])
    connect(job.address)
    # One block per batch, cut here: every worker has work from the start, and no shuffle stage
    # competes with the workers for the CPUs they hold.
    blocks = [pa.table({"file": pa.array(todo[i : i + job.batch_size], pa.string())})
              for i in range(0, len(todo), job.batch_size)]
    workers = min(job.workers or max(1, int(ray.cluster_resources().get("CPU", 1))), len(blocks))
    rows = ray.data.from_arrow(blocks).map_batches(
        LabelWorker, fn_constructor_kwargs={"settings": settings}, batch_size=job.batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1, batch_format="numpy",
    )
    # Writing rows is light I/O: no CPU reserved, or it would wait for a worker's.
    light = {"num_cpus": 0}
    if fmt == "parquet":
        rows.write_parquet(out, schema=ROW_SCHEMA, ray_remote_args=light, min_rows_per_file=ROWS_PER_FILE)
    else:
        rows.write_csv(out, ray_remote_args=light, min_rows_per_file=ROWS_PER_FILE)
    written = read_results(out, ["file", "status"])
    written = written[written["file"].isin(set(todo))]
    failed = sorted(set(written.loc[written["status"].str.startswith("error"), "file"]))
    return JobSummary(len(todo), len(written), failed)
