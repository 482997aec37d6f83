"""FER+ (Barsoum et al., ICMI 2016): ten annotators' votes for every FER2013 face, read beside it.

FER2013 gives each face one annotator's label; FER+ asked ten. Its file lists, row for row with
the FER2013 CSV, how many of the ten chose each of its ten answers. Two things are made of them:

- the **majority label**, FER+'s evaluation protocol: drop the votes of any answer only one
  annotator gave, then the answer with more than half of the remaining votes wins; a face whose
  winner is contempt, unknown or not-a-face, or that has no winner, has no label in our seven
  classes (``NO_LABEL``);
- the **vote distribution** over our seven classes, a training target: lone votes dropped as
  above, contempt/unknown/not-a-face votes dropped, the rest renormalised. A face with no vote
  left has no distribution (all zeros) and is left out of training on votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fer.emotions import EMOTIONS

# The file's vote columns, in its own order (neutral first).
FILE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# Our seven classes' columns in EMOTIONS order, then the three answers that are none of them.
OUR_ORDER = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral", "contempt", "unknown", "NF")
NO_LABEL = -1
DEFAULT_VOTES_NAME = "ferplus.csv.gz"


class VotesError(ValueError):
    """A votes file that is not FER+ or does not line up with its FER2013 file; the message says where."""


def read_votes(path: str | Path, usage: pd.Series) -> np.ndarray:
    """The votes of ``path`` as int (N, 10) counts in ``OUR_ORDER``, checked row for row against the
    FER2013 file's ``Usage`` column: a file that parts from it is refused, never realigned."""
    path = Path(path)
    if not path.exists():
        raise VotesError(f"{path}: no such votes file (FER+'s votes, e.g. ../shared/data/{DEFAULT_VOTES_NAME})")
    frame = pd.read_csv(path)
    missing = [c for c in ("Usage", *FILE_COLUMNS) if c not in frame.columns]
    if missing:
        raise VotesError(f"{path}: missing column(s) {', '.join(missing)}; FER+ votes have Usage and {', '.join(FILE_COLUMNS)}")
    if len(frame) != len(usage):
        raise VotesError(f"{path}: {len(frame)} rows of votes for {len(usage)} FER2013 faces; the two files must match row for row")
    parted = np.flatnonzero(frame["Usage"].to_numpy() != usage.to_numpy())
    if parted.size:
        row = int(parted[0])
        raise VotesError(f"{path}: row {row + 1} is {frame['Usage'].iloc[row]!r} where the FER2013 file's is "
                         f"{usage.iloc[row]!r} ({parted.size} rows differ); the two files must match row for row")
    votes = frame[list(OUR_ORDER)].to_numpy()
    if (votes < 0).any():
        raise VotesError(f"{path}: row {int(np.flatnonzero((votes < 0).any(axis=1))[0]) + 1} has a negative vote count")
    return votes.astype(np.int64)


def _without_lone_votes(votes: np.ndarray) -> np.ndarray:
    """Votes with every answer that only one annotator gave set to zero (the FER+ protocol)."""
    return np.where(votes > 1, votes, 0)


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """The FER+ majority label of each face in EMOTIONS' indices, ``NO_LABEL`` where there is none."""
    kept = _without_lone_votes(votes)
    winner = kept.argmax(axis=1)
    has_majority = 2 * kept.max(axis=1) > kept.sum(axis=1)
    return np.where(has_majority & (winner < len(EMOTIONS)), winner, NO_LABEL).astype(np.int64)


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """float32 (N, 7): each face's votes over our seven classes, lone votes dropped, summing to 1
    (all zeros for a face with no such vote left)."""
    ours = _without_lone_votes(votes)[:, : len(EMOTIONS)].astype(np.float32)
    total = ours.sum(axis=1, keepdims=True)
    return np.divide(ours, total, out=np.zeros_like(ours), where=total > 0)


@dataclass(frozen=True)
class Agreement:
    """How a split's FER2013 labels stand against its FER+ majority labels."""

    labelled: int  # faces with a majority label in our seven classes
    unlabelled: int
    agree: int  # of the labelled, those whose FER2013 label is the majority's

    @property
    def rate(self) -> float:
        return self.agree / self.labelled if self.labelled else float("nan")


def agreement(fer2013_labels: np.ndarray, majority: np.ndarray) -> Agreement:
    labelled = majority != NO_LABEL
    return Agreement(int(labelled.sum()), int((~labelled).sum()), int((fer2013_labels[labelled] == majority[labelled]).sum()))
