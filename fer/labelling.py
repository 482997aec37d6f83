"""Bulk labelling of image and video files into flat rows, one per face; failures become rows too."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from fer.annotate import annotate
from fer.emotions import EMOTIONS
from fer.imaging import ImageError, decode_image, rgb_to_bgr
from fer.pipeline import EmotionPipeline
from fer.sources import is_uri, read_image, suffix
from fer.types import FaceBox, FacePrediction, FrameResult
from fer.uploads import Rejected, count_uploads, expand_uploads
from fer.video import VIDEO_SUFFIXES, Progress, VideoError, analyse_video

logger = logging.getLogger(__name__)

STATUS_OK, STATUS_NO_FACE = "ok", "no face"


@dataclass(frozen=True)
class LabelRow:
    """One face (or one file without faces, or one failure) in the bulk output."""

    file: str
    status: str  # "ok", "no face", or "error: <reason>"
    frame: int | None = None
    time_s: float | None = None
    face: int | None = None
    track: int | None = None
    x: int | None = None
    y: int | None = None
    w: int | None = None
    h: int | None = None
    emotion: str | None = None
    confidence: float | None = None
    probabilities: tuple[float, ...] | None = None

    @property
    def failed(self) -> bool:
        return self.status.startswith("error")

    def flat(self) -> dict[str, object]:
        """The row as CSV columns: the probabilities spread over one column per emotion."""
        row = asdict(self)
        probabilities = row.pop("probabilities") or (None,) * len(EMOTIONS)
        row.update({f"p_{name}": p for name, p in zip(EMOTIONS, probabilities, strict=True)})
        return row


def face_rows(file: str, result: FrameResult, is_video: bool) -> list[LabelRow]:
    frame = result.index if is_video else None
    time_s = round(result.time_s, 3) if is_video else None
    if not result.faces:
        return [LabelRow(file, STATUS_NO_FACE, frame, time_s)]
    return [_face_row(file, frame, time_s, i, face) for i, face in enumerate(result.faces)]


def _face_row(file: str, frame: int | None, time_s: float | None, index: int, face: FacePrediction) -> LabelRow:
    b = face.box
    return LabelRow(
        file, STATUS_OK, frame, time_s, index, face.track_id, b.x, b.y, b.w, b.h,
        face.emotion, round(face.confidence, 4), tuple(round(float(p), 4) for p in face.probabilities),
    )


@dataclass(frozen=True)
class LabelledPhoto:
    """An uploaded photo once labelled: what the page keeps of it. Its full-size pixels are gone
    once it is labelled; ``index`` finds it again among the uploads (``fer.uploads.expand_uploads``)
    for a download that needs them."""

    name: str
    index: int
    faces: list[FacePrediction]  # each with its 48x48 crop, for the corrections
    preview: np.ndarray | None = None  # annotated, scaled down to PREVIEW_SIDE, for the gallery

    def rows(self) -> list[LabelRow]:
        return face_rows(self.name, FrameResult(self.faces), is_video=False)


# The longest side of a gallery picture: a quarter of a wide page at twice the screen's density.
PREVIEW_SIDE = 640


def preview(rgb: np.ndarray, faces: list[FacePrediction], side: int = PREVIEW_SIDE) -> np.ndarray:
    """The photo scaled down to ``side``, then annotated: no full-size copy is made."""
    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return annotate(rgb, faces)
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return annotate(small, [replace(face, box=_scaled(face.box, scale)) for face in faces])


def _scaled(box: FaceBox, scale: float) -> FaceBox:
    return FaceBox(round(box.x * scale), round(box.y * scale), round(box.w * scale), round(box.h * scale), box.score)


class BulkLabeller:
    """Labels files (paths or URIs) one by one; ``annotated_dir`` receives an annotated copy of each.
    Each file's rows, error rows included, are the same whichever engine runs this
    (``fer.scale.ray_engine`` runs it in each worker)."""

    def __init__(
        self,
        pipeline: EmotionPipeline,
        every: int = 1,
        annotated_dir: Path | None = None,
        on_video_progress: Progress | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.every = every
        self.annotated_dir = annotated_dir
        self.on_video_progress = on_video_progress
        if annotated_dir is not None:
            annotated_dir.mkdir(parents=True, exist_ok=True)

    def label(self, files: Iterable[str | Path], on_file: Callable[[str], None] | None = None) -> Iterator[LabelRow]:
        for file in map(str, files):
            try:
                if suffix(file) in VIDEO_SUFFIXES:
                    yield from self._label_video(file)
                else:
                    yield from self._label_image(file)
            except (ImageError, VideoError) as exc:
                logger.error("%s: %s", file, exc)
                yield LabelRow(file, f"error: {exc}")
            if on_file is not None:
                on_file(file)

    def _label_image(self, file: str) -> list[LabelRow]:
        rgb = read_image(file)
        faces = self.pipeline.analyse(rgb)
        if self.annotated_dir is not None:
            cv2.imwrite(str(self._annotated_path(file, ".jpg")), rgb_to_bgr(annotate(rgb, faces)))
        return face_rows(file, FrameResult(faces), is_video=False)

    def _label_video(self, file: str) -> list[LabelRow]:
        if is_uri(file):
            raise VideoError("videos are read from local files only: copy it here first")
        annotated = self._annotated_path(file, ".mp4") if self.annotated_dir is not None else None
        analysis = analyse_video(file, self.pipeline, self.every, annotated, self.on_video_progress)
        return [row for result in analysis.frames for row in face_rows(file, result, is_video=True)]

    def _annotated_path(self, file: str, suffix: str) -> Path:
        assert self.annotated_dir is not None
        stem = Path(file.rsplit("/", 1)[-1]).stem
        candidate = self.annotated_dir / f"{stem}{suffix}"
        n = 1
        while candidate.exists():  # two inputs with one name must not overwrite each other
            candidate = self.annotated_dir / f"{stem}-{n}{suffix}"
            n += 1
        return candidate


def rows_to_frame(rows: Iterable[LabelRow]) -> pd.DataFrame:
    columns = list(LabelRow.__dataclass_fields__)[:-1] + [f"p_{name}" for name in EMOTIONS]
    table = pd.DataFrame([row.flat() for row in rows], columns=columns)
    # Nullable integers: a file without faces has no box, and 293 should not print as 293.0.
    return table.astype({c: "Int64" for c in ("frame", "face", "track", "x", "y", "w", "h")})


ON_SCREEN_FIRST = ("file", "face", "emotion", "confidence", "status")


def on_screen(table: pd.DataFrame) -> pd.DataFrame:
    """A bulk table as a person reads it: which face and what it shows first, then where it is and
    the probabilities; columns empty in every row (photos have no frame, time or track) left out.
    Downloads keep every column, so a CSV's layout never depends on what was in it."""
    first = [c for c in ON_SCREEN_FIRST if c in table.columns]
    rest = [c for c in table.columns if c not in first]
    view = table[first + rest]
    return view if view.empty else view.loc[:, view.notna().any()]


@dataclass
class PhotoBatch:
    """The outcome of labelling a set of uploads: what was labelled, and what was not and why."""

    images: list[LabelledPhoto]
    rejected: list[Rejected]
    system_files: list[str] = field(default_factory=list)  # left out of archives without a message each

    def table(self) -> pd.DataFrame:
        """One row per face, per photo without a face, and per file that was skipped (status
        ``error: <reason>``, as ``python -m fer label`` writes it), so that a download says what
        was not labelled."""
        skipped = (LabelRow(item.name, f"error: {item.reason}") for item in self.rejected)
        return rows_to_frame([*(row for image in self.images for row in image.rows()), *skipped])


def label_uploads(
    files: Sequence[tuple[str, bytes]], pipeline: EmotionPipeline, on_progress: Callable[[int, int, str], None] | None = None,
    previews: int = 24,
) -> PhotoBatch:
    """Label uploaded images and the images inside uploaded .zip archives; bad items are set aside
    with a reason and the rest of the batch goes on. ``on_progress(done, total, name)``.

    Memory is bounded by design, not by the batch: one photo is decoded at a time and only what
    the page shows is kept (rows, 48x48 face crops, and annotated previews of the first
    ``previews`` photos for the gallery). Each photo keeps its position among the uploads
    (``LabelledPhoto.index``): two uploads of one name stay two photos.
    """
    total = count_uploads(files)
    batch = PhotoBatch([], [])
    done = 0
    for index, item in enumerate(expand_uploads(files, batch.system_files)):
        if isinstance(item, Rejected):
            batch.rejected.append(item)
            continue
        done += 1
        try:
            rgb = decode_image(item.data)
        except ImageError as exc:
            batch.rejected.append(Rejected(item.name, str(exc)))
        else:
            faces = pipeline.analyse(rgb)
            shown = preview(rgb, faces) if len(batch.images) < previews else None
            batch.images.append(LabelledPhoto(item.name, index, faces, shown))
            del rgb  # before the next photo is decoded
        if on_progress is not None:
            on_progress(done, total, item.name)
    return batch
