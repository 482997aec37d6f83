"""``fer adapt``: an adapter (``fer.adapter``) fit on a user's labelled faces, and what it is worth
on faces it never saw, estimated by a k-fold.

The faces are read as ``fer.folders`` reads them for ``evaluate --images`` (emotion folders, their
synonyms and skips; an image's largest face, found by the served pipeline), through the embedding
file: the shipped model's probabilities and each face's embedding in one pass. An image where no
face is found cannot be fit on; it counts as a miss before and after, as ``evaluate`` counts it.

The grid, declared before it was measured (docs/model-card.md#adapting-to-your-own-faces):
regularisation ``C`` in ``REGULARISATION`` and blend weight ``w`` in ``BLENDS``, with a
class-balanced multinomial logistic head on the standardised embeddings. Each point is scored by
the balanced accuracy of a stratified ``FOLDS``-fold over the user's faces, the folds keeping a
group together where the user names groups (frames of one clip, photos of one person look alike:
a face whose twin is in the training part would flatter the estimate). The adapter written is the
best point's head fit on every face.

Read thorough (``--thorough``), the head is still fit on each face as read, one view, as it serves
each view; it is judged, and its grid point chosen, on the mean of its ten views' answers, as
thorough mode serves it.

The "after" figure a user reads is nested: each outer fold's faces are read by a head whose grid
point was chosen by a k-fold inside the other folds, so the choice never saw the faces it is scored
on. The chosen point's own k-fold figure is reported beside it, and is optimistic: it is the best of
the grid on those very folds.
"""

from __future__ import annotations

import datetime
import logging
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

import numpy as np
from scipy.optimize import minimize
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from fer.adapter import Adapter, blend
from fer.classifier import FaceFeatures
from fer.emotions import EMOTIONS, NUM_CLASSES
from fer.folders import FolderReport, LabelledImage, Verdict
from fer.imaging import ImageError, decode_image, to_model_input
from fer.metrics import score
from fer.pipeline import EmotionPipeline
from fer.uploads import Rejected

logger = logging.getLogger(__name__)

FOLDS = 5
REGULARISATION = (0.001, 0.01, 0.1)  # C, as scikit-learn's LogisticRegression's: smaller, stronger
BLENDS = (0.25, 0.5, 0.75, 1.0)  # w, the head's weight in the log-space blend
MIN_FACES = 10  # fewer faces of an emotion than this, and the user is warned it is too few to learn
SEED = 0
# Faces read by one pass of the model: the progress moves while the passes stay batched.
CHUNK = 32
# The fit's tolerances: the head's weights within about 0.2% of the exact optimum (measured on
# sfew-train's faces), at a third of the iterations.
GTOL, FTOL, MAX_ITERATIONS = 1e-5, 1e-7, 2000


class AdaptError(ValueError):
    """A labelled set an adapter cannot be fit on; the message says why."""


@dataclass(frozen=True)
class Progress:
    """Where a fit stands: ``stage`` is "reading" (``done`` images of ``total``, None where not known)
    or "fitting" (``done`` head fits of ``total``)."""

    stage: str
    done: int
    total: int | None


OnProgress = Callable[[Progress], None]


@dataclass(frozen=True)
class FaceSet:
    """The faces of a labelled set, as the embedding file reads them: one row per image where a face was found."""

    names: list[str]
    labels: np.ndarray  # (n,) int: the folder's emotion, an index into EMOTIONS
    probabilities: np.ndarray  # (views, n, 7): the shipped model's, for each view read (thorough: ten)
    embeddings: np.ndarray  # (views, n, D)
    no_face: list[Verdict] = field(default_factory=list)  # the images where no face was found
    skipped: list[Rejected] = field(default_factory=list)  # what could not be read, and why

    def counts(self) -> dict[str, int]:
        """Faces per emotion."""
        found = np.bincount(self.labels, minlength=NUM_CLASSES)
        return {name: int(found[i]) for i, name in enumerate(EMOTIONS)}


@dataclass(frozen=True)
class GridPoint:
    """One point of the grid and its k-fold scores over every face."""

    regularisation: float
    blend: float
    balanced_accuracy: float
    accuracy: float


@dataclass(frozen=True)
class KFoldReport:
    """What an adapter is worth on faces it never saw: ``before`` (the shipped model) and ``after``
    (the nested k-fold) in the shape of ``fer.folders.FolderReport.summary``, so that they print
    as ``evaluate --images`` prints its report (``fer.folders.summary_table``)."""

    before: dict
    after: dict
    folds: int
    groups: int | None  # the groups the folds kept together, None where none were named
    grid: list[GridPoint]  # every point's k-fold scores over all the faces
    chosen: GridPoint  # the point fit on every face; its k-fold figure is the grid's best, so optimistic
    outer_choices: list[tuple[float, float]]  # (C, w) each outer fold chose inside the other folds
    faces: dict[str, int]  # faces per emotion fit on
    warnings: list[str]
    views: int = 1  # the views each face was read over, before and after: 10 as thorough mode reads

    def to_dict(self, names: bool = True) -> dict:
        """The report as JSON; ``names=False`` leaves out every file name (what an adapter file
        carries: it may be shared, its user's file names need not be)."""
        report = asdict(self)
        if not names:
            for key in ("before", "after"):
                report[key] = {k: v for k, v in report[key].items() if k not in ("no_face", "skipped")}
        return report


@dataclass(frozen=True)
class Adaptation:
    adapter: Adapter
    report: KFoldReport


@dataclass(frozen=True)
class Head:
    """A multinomial logistic head on standardised embeddings, over the emotions it was fit on."""

    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    weights: np.ndarray  # (D, 7), zero for the emotions not known
    bias: np.ndarray  # (7,)
    known: np.ndarray  # (7,) bool

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        return ((embeddings - self.mean) / self.scale) @ self.weights + self.bias


def read_faces(images: Iterable[LabelledImage], pipeline: EmotionPipeline, skipped: list[Rejected],
               on_image: Callable[[int], None] | None = None) -> FaceSet:
    """Every image's largest face, found as ``pipeline`` finds faces, read by its classifier's
    embedding file (``load_pipeline(..., embeddings=True)``); an image that cannot be decoded is
    skipped with its reason. ``skipped``: the list the image source fills too; ``on_image`` is
    called with the number of images read so far."""
    names: list[str] = []
    labels: list[int] = []
    no_face: list[Verdict] = []
    batches = _Batches(pipeline)
    for read, image in enumerate(images, start=1):
        crop = _largest_face(image, pipeline, skipped, no_face)
        if crop is not None:
            names.append(image.name)
            labels.append(EMOTIONS.index(image.emotion))
            batches.add(crop)
        if on_image is not None:
            on_image(read)
    probabilities, embeddings = batches.read()
    return FaceSet(names, np.array(labels, dtype=np.int64), probabilities, embeddings, no_face, skipped)


def _largest_face(image: LabelledImage, pipeline: EmotionPipeline, skipped: list[Rejected],
                  no_face: list[Verdict]) -> np.ndarray | None:
    """The 48x48 crop of the image's largest face, as ``fer.folders.judge`` picks it; None, noted in
    ``skipped`` or ``no_face``, where there is none."""
    try:
        boxes, crops = pipeline.locate(decode_image(image.data))
    except ImageError as exc:
        skipped.append(Rejected(image.name, str(exc)))
        return None
    if not boxes:
        no_face.append(Verdict(image.name, image.emotion, None))
        return None
    return crops[max(range(len(boxes)), key=lambda i: boxes[i].area)]


class _Batches:
    """Crops read by the embedding file ``CHUNK`` at a time, as they come."""

    def __init__(self, pipeline: EmotionPipeline) -> None:
        if pipeline.classifier.embedder is None:
            raise ValueError("fitting an adapter reads embeddings: load the pipeline with embeddings=True")
        self.classifier = pipeline.classifier
        self.views = 10 if pipeline.classifier.thorough else 1
        self.size = pipeline.classifier.embedder.size
        self.pending: list[np.ndarray] = []
        self.done: list[FaceFeatures] = []

    def add(self, crop: np.ndarray) -> None:
        self.pending.append(crop)
        if len(self.pending) == CHUNK:
            self._flush()

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (views, n, 7) and embeddings (views, n, D) of every crop added."""
        self._flush()
        if not self.done:
            return np.zeros((self.views, 0, NUM_CLASSES), np.float32), np.zeros((self.views, 0, self.size), np.float32)
        return (np.concatenate([f.probabilities for f in self.done], axis=1),
                np.concatenate([f.embeddings for f in self.done], axis=1))

    def _flush(self) -> None:
        if self.pending:
            self.done.append(self.classifier.features(to_model_input(self.pending)))
            self.pending = []


def groups_of(names: list[str], pattern: str | None) -> np.ndarray | None:
    """Each face's group: the first capture group (else the whole match) of ``pattern`` searched
    in its file name; a name it does not match is a group of its own. None without a pattern."""
    if pattern is None:
        return None
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise AdaptError(f"the group pattern {pattern!r} is not a regular expression: {exc}") from None
    groups = []
    for name in names:
        match = regex.search(PurePosixPath(name).name)
        groups.append((match.group(1) if regex.groups else match.group(0)) if match else f"\0{name}")
    return np.array(groups)


def fold_ids(labels: np.ndarray, groups: np.ndarray | None, folds: int = FOLDS) -> np.ndarray:
    """Each face's fold (0..folds-1): stratified by emotion, and where ``groups`` are given a group's
    faces all in one fold."""
    ids = np.empty(len(labels), dtype=np.int64)
    if groups is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=SEED).split(labels, labels)
    else:
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=SEED).split(labels, labels, groups)
    with warnings.catch_warnings():
        # scikit-learn warns where an emotion has fewer faces than folds (tests/test_adapting.py
        # checks that it does); the report says so in the user's words (MIN_FACES).
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        for fold, (_, test) in enumerate(splits):
            ids[test] = fold
    return ids


def fit_head(embeddings: np.ndarray, labels: np.ndarray, c: float, start: Head | None = None) -> Head:
    """The class-balanced multinomial logistic head on standardised ``embeddings`` (N, D): the
    minimiser of ``sum_i s_i * cross-entropy_i + |W|^2 / (2C)``, ``s_i`` each face's class-balance
    weight (n / (emotions present x faces of its emotion)) and the bias unpenalised, as
    scikit-learn's ``LogisticRegression(C=c, class_weight="balanced")`` (tests/test_adapting.py
    checks the two agree). By L-BFGS, from ``start`` where given (convex: it only saves iterations)."""
    x64 = np.asarray(embeddings, dtype=np.float64)
    mean = x64.mean(axis=0)
    scale = x64.std(axis=0)
    scale[scale == 0] = 1.0  # a feature that never varied (a unit that never fired): left as it is
    # float32 products: the matrices are read twice an iteration, and half the bytes halves the time.
    x = ((x64 - mean) / scale).astype(np.float32)
    present = np.unique(labels)
    known = np.isin(np.arange(NUM_CLASSES), present)
    y = np.searchsorted(present, labels)
    n, d, k = len(labels), x.shape[1], len(present)
    counts = np.bincount(y, minlength=k)
    targets = np.eye(k, dtype=np.float32)[y] * (n / (k * counts[y]))[:, None].astype(np.float32)
    weight = targets.sum(axis=1, keepdims=True)

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-k].reshape(d, k), theta[-k:]
        z = x @ w.astype(np.float32) + b.astype(np.float32)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        loss = -float((targets * (z - np.log(total))).sum()) + float((w**2).sum()) / (2 * c)
        residual = weight * (e / total) - targets
        gradient = np.concatenate([((x.T @ residual).astype(np.float64) + w / c).ravel(),
                                   residual.sum(axis=0, dtype=np.float64)])
        return loss / n, gradient / n

    theta = np.zeros(d * k + k)
    if start is not None and np.array_equal(start.known, known):
        theta = np.concatenate([start.weights[:, known].ravel(), start.bias[known]])
    result = minimize(loss_and_gradient, theta, jac=True, method="L-BFGS-B",
                      options={"maxiter": MAX_ITERATIONS, "gtol": GTOL, "ftol": FTOL})
    logger.debug("head fit, C=%g: %d iterations (%s)", c, result.nit, result.message)
    weights = np.zeros((d, NUM_CLASSES))
    bias = np.zeros(NUM_CLASSES)
    weights[:, known] = result.x[:-k].reshape(d, k)
    bias[known] = result.x[-k:]
    return Head(mean, scale, weights, bias, known)


class _Fits:
    """Counts head fits for the progress callback."""

    def __init__(self, total: int, on_progress: OnProgress | None) -> None:
        self.done, self.total, self.on_progress = 0, total, on_progress

    def fit(self, embeddings: np.ndarray, labels: np.ndarray, c: float, start: Head | None) -> Head:
        head = fit_head(embeddings, labels, c, start)
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(Progress("fitting", self.done, self.total))
        return head


def _out_of_fold_logits(faces: FaceSet, rows: np.ndarray, folds: np.ndarray, fits: _Fits
                        ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """For each C: every face of ``rows`` read by a head fit on the other folds: its logits
    (views, len(rows), 7) and the emotions that head knew (len(rows), 7)."""
    out = {}
    views = faces.embeddings.shape[0]
    starts: dict[int, Head] = {}
    for c in REGULARISATION:  # weakest regularisation last: each fit starts from the one before
        logits = np.zeros((views, len(rows), NUM_CLASSES))
        known = np.zeros((len(rows), NUM_CLASSES), dtype=bool)
        for fold in np.unique(folds):
            train, test = rows[folds != fold], folds == fold
            head = starts[fold] = fits.fit(faces.embeddings[0, train], faces.labels[train], c, starts.get(fold))
            logits[:, test] = [head.logits(view) for view in faces.embeddings[:, rows[test]]]
            known[test] = head.known
        out[c] = (logits, known)
    return out


def _adapted(faces: FaceSet, rows: np.ndarray, logits: np.ndarray, known: np.ndarray, w: float) -> np.ndarray:
    """The adapted probabilities of ``rows``, averaged over the views read (as thorough mode reads)."""
    return np.mean([blend(p, z, known, w) for p, z in zip(faces.probabilities[:, rows], logits, strict=True)], axis=0)


def _grid(faces: FaceSet, rows: np.ndarray, folds: np.ndarray, fits: _Fits) -> list[GridPoint]:
    """Every grid point's k-fold scores over ``rows``."""
    oof = _out_of_fold_logits(faces, rows, folds, fits)
    points = []
    for w in BLENDS:
        for c in REGULARISATION:
            predicted = _adapted(faces, rows, *oof[c], w).argmax(axis=1)
            scores = score(faces.labels[rows], predicted)
            points.append(GridPoint(c, w, scores.balanced_accuracy, scores.accuracy))
    return points


def _best(points: list[GridPoint]) -> GridPoint:
    """The most balanced accuracy; a tie goes to the smaller blend weight, then the stronger
    regularisation (the point nearer the shipped model)."""
    return max(points, key=lambda p: (p.balanced_accuracy, -p.blend, -p.regularisation))


def _fold_count(labels: np.ndarray, groups: np.ndarray | None) -> int:
    units = len(np.unique(groups)) if groups is not None else len(labels)
    return min(FOLDS, units)


def fit_adapter(faces: FaceSet, model_sha256: str, model_name: str = "", group: str | None = None,
                on_progress: OnProgress | None = None) -> Adaptation:
    """The adapter chosen and fit on ``faces`` (read by the embedding file whose SHA-256 is
    ``model_sha256``) and its k-fold report; ``group``: a pattern naming each file's group (see
    ``groups_of``); AdaptError where the faces cannot give a k-fold."""
    counts = faces.counts()
    _check_enough(faces, counts)
    groups = _checked_groups(faces.names, group)
    folds = fold_ids(faces.labels, groups)
    inner_folds = {fold: _fold_count(faces.labels[folds != fold], None if groups is None else groups[folds != fold])
                   for fold in range(FOLDS)}
    # One BLAS thread: on these small matrices two threads on two busy cores ran ten times slower.
    with threadpool_limits(1):
        fits = _Fits(len(REGULARISATION) * (FOLDS + sum(inner_folds.values())) + FOLDS + 1, on_progress)
        grid = _grid(faces, np.arange(len(faces.labels)), folds, fits)
        after, outer_choices = _nested(faces, folds, groups, inner_folds, fits)
        chosen = _best(grid)
        head = fits.fit(faces.embeddings[0], faces.labels, chosen.regularisation, None)
    report = KFoldReport(_summary(faces, faces.probabilities.mean(axis=0)), _summary(faces, after), FOLDS,
                         None if groups is None else len(np.unique(groups)), grid, chosen, outer_choices, counts,
                         _warnings(counts), faces.embeddings.shape[0])
    adapter = Adapter(model_sha256, head.mean.astype(np.float32), head.scale.astype(np.float32),
                      head.weights.astype(np.float32), head.bias.astype(np.float32), head.known, chosen.blend,
                      chosen.regularisation, counts, datetime.date.today().isoformat(), model_name,
                      report.to_dict(names=False))
    return Adaptation(adapter, report)


def _checked_groups(names: list[str], group: str | None) -> np.ndarray | None:
    groups = groups_of(names, group)
    if groups is not None and len(np.unique(groups)) < FOLDS:
        raise AdaptError(f"the group pattern {group!r} gives {len(np.unique(groups))} group(s): a {FOLDS}-fold needs "
                         f"at least {FOLDS}")
    return groups


def _nested(faces: FaceSet, folds: np.ndarray, groups: np.ndarray | None, inner_folds: dict[int, int],
            fits: _Fits) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Every face's adapted probabilities from a head fit on the other folds, with the grid point
    chosen by a k-fold inside those folds; each outer fold's (C, w)."""
    adapted = np.zeros((len(faces.labels), NUM_CLASSES))
    choices = []
    for fold in range(FOLDS):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        inner = fold_ids(faces.labels[train], None if groups is None else groups[train], inner_folds[fold])
        choice = _best(_grid(faces, train, inner, fits))
        head = fits.fit(faces.embeddings[0, train], faces.labels[train], choice.regularisation, None)
        logits = np.stack([head.logits(view) for view in faces.embeddings[:, test]])
        adapted[test] = _adapted(faces, test, logits, np.broadcast_to(head.known, (len(test), NUM_CLASSES)),
                                 choice.blend)
        choices.append((choice.regularisation, choice.blend))
        logger.info("outer fold %d: C=%g, w=%g chosen inside the other folds", fold, *choices[-1])
    return adapted, choices


def _summary(faces: FaceSet, probabilities: np.ndarray) -> dict:
    """``probabilities`` of the faces, and the images with no face, as ``evaluate --images`` reports them."""
    verdicts = [Verdict(name, EMOTIONS[label], EMOTIONS[int(np.argmax(p))], round(float(np.max(p)), 4))
                for name, label, p in zip(faces.names, faces.labels, probabilities, strict=True)]
    return FolderReport(verdicts=[*verdicts, *faces.no_face], skipped=list(faces.skipped)).summary()


def _check_enough(faces: FaceSet, counts: dict[str, int]) -> None:
    present = [name for name, n in counts.items() if n]
    if len(present) < 2:
        raise AdaptError(f"an adapter needs faces of at least two emotions; found {len(faces.labels)} face(s) of "
                         f"{', '.join(present) or 'none'}" + (f" (no face found in {len(faces.no_face)} image(s))"
                                                               if faces.no_face else ""))
    if len(faces.labels) < 2 * FOLDS:
        raise AdaptError(f"{len(faces.labels)} faces are too few for a {FOLDS}-fold check: give at least "
                         f"{2 * FOLDS}, and {MIN_FACES} or more of each emotion to learn it")


def _warnings(counts: dict[str, int]) -> list[str]:
    few = [f"{name} ({n})" for name, n in counts.items() if 0 < n < MIN_FACES]
    none = [name for name, n in counts.items() if n == 0]
    warnings = []
    if few:
        warnings.append(f"too few faces to learn {', '.join(few)}: give at least {MIN_FACES} of each emotion; the "
                        "head's reading of these is a guess")
    if none:
        warnings.append(f"no faces of {', '.join(none)}: the head leaves them to the shipped model")
    return warnings


def adapt_images(images: Iterable[LabelledImage], pipeline: EmotionPipeline, skipped: list[Rejected],
                 group: str | None = None, on_progress: OnProgress | None = None, total: int | None = None
                 ) -> Adaptation:
    """Read a labelled set (``fer.folders.directory_images`` or ``zip_images``) with ``pipeline``
    (loaded with ``embeddings=True``), then choose and fit its adapter (``fit_adapter``).
    ``total``: the number of images, where known, for the progress."""
    embedder = pipeline.classifier.embedder
    if embedder is None:
        raise ValueError("fitting an adapter reads embeddings: load the pipeline with embeddings=True")

    def on_image(done: int) -> None:
        if on_progress is not None:
            on_progress(Progress("reading", done, total))

    faces = read_faces(images, pipeline, skipped, on_image)
    logger.info("read %d faces (%d images without one, %d skipped)", len(faces.labels), len(faces.no_face),
                len(skipped))
    return fit_adapter(faces, embedder.sha256, embedder.name, group, on_progress)
