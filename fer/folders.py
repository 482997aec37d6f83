"""Check the served model on a user's own labelled photos: one folder per emotion, in a directory
or a zip, each image through the served pipeline as a user's would go.

An image's answer is its largest face; an image where no face is found counts as wrong and is
listed. Folder names are FER2013's seven in any case, or their usual synonyms (``anger``,
``happiness``, ``surprised``…); any other folder (``contempt``) is skipped with a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from sklearn.metrics import confusion_matrix

from fer.emotions import EMOTIONS
from fer.imaging import IMAGE_SUFFIXES, ImageError, decode_image
from fer.metrics import score
from fer.pipeline import EmotionPipeline
from fer.uploads import Rejected, expand_uploads, is_system_file, member_path

NO_FACE = "no face"

SYNONYMS: dict[str, str] = {
    **{name: name for name in EMOTIONS},
    "anger": "angry", "angry": "angry",
    "disgusted": "disgust", "disgusting": "disgust",
    "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happiness": "happy", "joy": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "neutrality": "neutral",
}


def folder_emotion(folder: str) -> str | None:
    """The FER2013 emotion a folder's name stands for, or None."""
    return SYNONYMS.get(folder.strip().lower())


@dataclass(frozen=True)
class LabelledImage:
    """One image of a labelled set: its name, its folder's emotion, its bytes."""

    name: str
    emotion: str
    data: bytes | bytearray


class _FolderSorter:
    """Sorts image names (``…/<emotion folder>/<image>``, as ``fer.uploads.member_path`` reads
    them) by their folder's emotion; a folder whose name is not an emotion goes into ``skipped``
    once, with its message."""

    def __init__(self, skipped: list[Rejected]) -> None:
        self.skipped = skipped
        self.unknown: set[str] = set()

    def emotion(self, name: str, prefix: str = "") -> str | None:
        path = PurePosixPath(name.removeprefix(prefix))
        folder = path.parent.name
        emotion = folder_emotion(folder)
        if emotion is None and folder not in self.unknown:
            self.unknown.add(folder)
            reason = ("not in an emotion folder" if not folder else
                      f"folder '{folder}' is not one of the seven emotions ({', '.join(EMOTIONS)}) or a synonym: skipped")
            self.skipped.append(Rejected(prefix + str(path.parent) if folder else name, reason))
        return emotion


def directory_images(root: Path, skipped: list[Rejected], system_files: list[str] | None = None
                     ) -> Iterator[LabelledImage]:
    """The images under ``root``'s emotion folders (at any depth), read one at a time; an image in
    a skipped folder (contempt/, say) is never read, one that cannot be read is skipped with its
    reason, and system files (``._x.jpg`` twins) are left out, named in ``system_files``."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return _read_images(root, paths, _FolderSorter(skipped), system_files)


def _read_images(root: Path, paths: list[Path], sorter: _FolderSorter, system_files: list[str] | None
                 ) -> Iterator[LabelledImage]:
    for path in paths:
        name = member_path(path.relative_to(root).as_posix())
        if name is None or is_system_file(name):
            if name is not None and system_files is not None:
                system_files.append(str(name))
            continue
        emotion = sorter.emotion(str(name))
        if emotion is None:
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            sorter.skipped.append(Rejected(str(name), f"could not be read ({exc.strerror or exc})"))
            continue
        yield LabelledImage(str(name), emotion, data)


def zip_images(name: str, data: bytes, skipped: list[Rejected], system_files: list[str] | None = None
               ) -> Iterator[LabelledImage]:
    """The images of an uploaded zip's emotion folders, read one at a time, with the upload
    defences of ``fer.uploads`` (unsafe paths, nested archives, oversized or lying members, system
    files left out and named in ``system_files``)."""
    sorter = _FolderSorter(skipped)
    for item in expand_uploads([(name, data)], system_files):
        if isinstance(item, Rejected):
            skipped.append(item)
            continue
        emotion = sorter.emotion(item.name, prefix=f"{name}/")
        if emotion is not None:
            yield LabelledImage(item.name, emotion, item.data)


@dataclass(frozen=True)
class Verdict:
    """One image: its folder's emotion and the model's answer (None: no face found)."""

    name: str
    true: str
    predicted: str | None
    confidence: float | None = None
    crop: np.ndarray | None = None  # the 48x48 face the model read, for a gallery of misreads

    @property
    def correct(self) -> bool:
        return self.predicted == self.true


def judge(image: LabelledImage, pipeline: EmotionPipeline) -> Verdict:
    """The largest face's answer for one image; ImageError where it cannot be decoded."""
    faces = pipeline.analyse(decode_image(image.data))
    if not faces:
        return Verdict(image.name, image.emotion, None)
    face = max(faces, key=lambda f: f.box.area)
    return Verdict(image.name, image.emotion, face.emotion, round(face.confidence, 4), face.crop)


@dataclass
class FolderReport:
    """Every image's verdict and what was skipped; the scores in ``summary``."""

    verdicts: list[Verdict] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)
    system_files: list[str] = field(default_factory=list)  # left out without a message each

    def summary(self) -> dict:
        """``accuracy``, ``balanced_accuracy`` (the mean recall of the emotions present), ``images``,
        ``faces_not_found``, ``per_class`` and ``confusion_matrix`` (rows true, columns predicted in
        FER2013's order, then a column for no face)."""
        if not self.verdicts:
            raise ValueError("no labelled image could be read: " + ("; ".join(
                f"{r.name}: {r.reason}" for r in self.skipped[:5]) or "the set is empty"))
        no_face = len(EMOTIONS)  # the answer's index where no face was found: wrong for every emotion
        y_true = np.array([EMOTIONS.index(v.true) for v in self.verdicts])
        y_pred = np.array([EMOTIONS.index(v.predicted) if v.predicted else no_face for v in self.verdicts])
        scores = score(y_true, y_pred)  # the same metrics as every model report; no face counts as a miss
        return {
            "accuracy": scores.accuracy,
            "balanced_accuracy": scores.balanced_accuracy,
            "images": len(self.verdicts),
            "faces_not_found": int(np.sum(y_pred == no_face)),
            "per_class": {name: asdict(scores.per_class[name]) for name in EMOTIONS},
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(no_face + 1))[:-1].tolist(),
            "confusion_columns": [*EMOTIONS, NO_FACE],
            "no_face": [v.name for v in self.verdicts if v.predicted is None],
            "skipped": [{"name": r.name, "reason": r.reason} for r in self.skipped],
        }

    def rows(self) -> list[dict]:
        """One row per image (and per skipped item), for a CSV."""
        return [*({"file": v.name, "true": v.true, "predicted": v.predicted or NO_FACE, "confidence": v.confidence,
                   "correct": v.correct} for v in self.verdicts),
                *({"file": r.name, "true": None, "predicted": None, "confidence": None, "correct": None,
                   "skipped": r.reason} for r in self.skipped)]


def check_images(images: Iterable[LabelledImage], pipeline: EmotionPipeline, skipped: list[Rejected],
                 on_image: Callable[[Verdict | Rejected], None] | None = None,
                 system_files: list[str] | None = None) -> FolderReport:
    """Every image through ``pipeline``; one that cannot be decoded is skipped with its reason.
    ``skipped`` and ``system_files`` are the lists the image source fills (they grow as ``images``
    is read)."""
    report = FolderReport(skipped=skipped, system_files=[] if system_files is None else system_files)
    for image in images:
        outcome: Verdict | Rejected
        try:
            outcome = judge(image, pipeline)
            report.verdicts.append(outcome)
        except ImageError as exc:
            outcome = Rejected(image.name, str(exc))
            skipped.append(outcome)
        if on_image is not None:
            on_image(outcome)
    return report


def summary_table(summary: dict) -> str:
    """The report as a person reads it in a terminal."""
    headline = (f"{summary['images']} images: accuracy {summary['accuracy']:.1%}, balanced accuracy "
                f"{summary['balanced_accuracy']:.1%}, no face found in {summary['faces_not_found']}")
    header = (f"{'':10s}{'precision':>10s}{'recall':>8s}{'f1':>7s}{'images':>8s}   "
              + " ".join(f"{c[:7]:>7s}" for c in summary["confusion_columns"]))
    lines = [headline, "", header]
    for name, row in zip(EMOTIONS, summary["confusion_matrix"], strict=True):
        s = summary["per_class"][name]
        lines.append(f"{name:10s}{s['precision']:10.1%}{s['recall']:8.1%}{s['f1']:7.2f}{s['support']:8d}   "
                     + " ".join(f"{n:7d}" for n in row))
    lines.append("rows: the folder's emotion; columns: the model's answer")
    lines += [f"skipped: {item['name']}: {item['reason']}" for item in summary["skipped"]]
    return "\n".join(lines)
