"""FER+ votes read beside FER2013: column order, the majority rule, unlabelled and misaligned rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from test_datasets import synthetic_rows, write_csv

from fer.datasets import FerData, load_fer
from fer.votes import (
    DEFAULT_VOTES_NAME,
    FILE_COLUMNS,
    NO_LABEL,
    VotesError,
    agreement,
    majority_labels,
    vote_distribution,
)

HEADER = "Usage,fer_index," + ",".join(FILE_COLUMNS)


def vote_row(usage: str, **votes: int) -> str:
    """A votes-file row; ``votes`` by the file's column names (neutral, happiness, ..., NF)."""
    unknown = set(votes) - set(FILE_COLUMNS)
    assert not unknown, unknown
    index = -1 if not votes else 7
    return f"{usage},{index}," + ",".join(str(votes.get(c, 0)) for c in FILE_COLUMNS)


def write_votes(path: Path, rows: list[str]) -> Path:
    text = "\n".join([HEADER, *rows]) + "\n"
    path.write_bytes(gzip.compress(text.encode())) if path.suffix == ".gz" else path.write_text(text)
    return path


def our_votes(**votes: int) -> np.ndarray:
    """One face's counts in fer.votes.OUR_ORDER, from the file's column names."""
    from fer.votes import OUR_ORDER

    return np.array([[votes.get(c, 0) for c in OUR_ORDER]])


def test_columns_are_read_in_our_class_order_not_the_files(tmp_path: Path) -> None:
    # The file lists neutral first; FER2013's class 0 is angry.
    rows = synthetic_rows(1)  # Training, PublicTest, PrivateTest: one face each
    csv = write_csv(tmp_path / "fer.csv", rows)
    votes = write_votes(tmp_path / "votes.csv.gz", [vote_row("Training", anger=8, neutral=2),
                                                    vote_row("PublicTest", neutral=10),
                                                    vote_row("PrivateTest", fear=6, surprise=4)])
    data = load_fer(csv, votes=votes)
    assert data.has_votes
    assert data.train.majority().tolist() == [0]  # angry
    assert data.val.majority().tolist() == [6]  # neutral
    assert data.test.majority().tolist() == [2]  # fear
    np.testing.assert_allclose(vote_distribution(data.test.votes)[0], [0, 0, 0.6, 0, 0, 0.4, 0])


def test_majority_rule_drops_lone_votes_then_needs_more_than_half() -> None:
    cases = {
        # 5 happy of 9 kept (the lone sadness vote dropped): more than half
        "lone vote dropped": (our_votes(happiness=5, neutral=4, sadness=1), 3),
        # 5 of 10: not more than half
        "a tie is no majority": (our_votes(happiness=5, neutral=5), NO_LABEL),
        # contempt wins: not one of our classes
        "contempt wins": (our_votes(contempt=6, anger=4), NO_LABEL),
        "not a face": (our_votes(NF=10), NO_LABEL),
        "unknown wins": (our_votes(unknown=7, sadness=3), NO_LABEL),
        "no votes (FER+ dropped the face)": (our_votes(), NO_LABEL),
        "every vote a lone one": (our_votes(neutral=1, happiness=1, sadness=1, anger=1), NO_LABEL),
    }
    for name, (votes, expected) in cases.items():
        assert majority_labels(votes).tolist() == [expected], name


def test_vote_distribution_drops_lone_and_non_emotion_votes() -> None:
    votes = np.concatenate([our_votes(neutral=5, sadness=3, fear=1, unknown=1), our_votes(NF=10)])
    distribution = vote_distribution(votes)
    np.testing.assert_allclose(distribution[0], [0, 0, 0, 0, 3 / 8, 0, 5 / 8])
    assert distribution[1].sum() == 0  # nothing usable: left out of training on votes


def test_a_votes_file_with_other_rows_is_refused_with_where_they_part(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "fer.csv", synthetic_rows(1))
    short = write_votes(tmp_path / "short.csv", [vote_row("Training", neutral=10), vote_row("PublicTest", neutral=10)])
    with pytest.raises(VotesError, match="2 rows of votes for 3 FER2013 faces"):
        load_fer(csv, votes=short)
    shuffled = write_votes(tmp_path / "shuffled.csv", [vote_row("Training", neutral=10), vote_row("PrivateTest", neutral=10),
                                                       vote_row("PublicTest", neutral=10)])
    with pytest.raises(VotesError, match="row 2 is 'PrivateTest' where the FER2013 file's is 'PublicTest'"):
        load_fer(csv, votes=shuffled)
    (tmp_path / "other.csv").write_text("emotion,votes\n1,2\n")
    with pytest.raises(VotesError, match="missing column"):
        load_fer(csv, votes=tmp_path / "other.csv")
    with pytest.raises(VotesError, match="no such votes file"):
        load_fer(csv, votes=tmp_path / "absent.csv")


def test_folder_layout_keeps_plain_labels_and_refuses_votes(tmp_path: Path) -> None:
    import cv2

    for split in ("train", "test"):
        for emotion in ("happy", "sad"):
            folder = tmp_path / split / emotion
            folder.mkdir(parents=True)
            for i in range(3):
                cv2.imwrite(str(folder / f"{i}.png"), np.full((48, 48), 40 * i, np.uint8))
    assert load_fer(tmp_path).train.votes is None
    with pytest.raises(ValueError, match="not a folder"):
        load_fer(tmp_path, votes=tmp_path / "votes.csv")


def test_certain_faces_are_those_where_both_label_sets_agree(tmp_path: Path) -> None:
    rows = [(label, np.zeros((48, 48), np.uint8), "Training") for label in (0, 3, 6)] + \
           [(0, np.zeros((48, 48), np.uint8), u) for u in ("PublicTest", "PrivateTest")]
    csv = write_csv(tmp_path / "fer.csv", rows)
    votes = write_votes(tmp_path / "votes.csv", [
        vote_row("Training", anger=9, disgust=1),  # agrees: angry
        vote_row("Training", neutral=8, happiness=2),  # FER2013 says happy, the crowd neutral
        vote_row("Training"),  # no votes at all
        vote_row("PublicTest", anger=10), vote_row("PrivateTest", anger=10),
    ])
    train = load_fer(csv, votes=votes).train
    assert train.certain().labels.tolist() == [0]
    assert train.by_majority().labels.tolist() == [0, 6]  # relabelled by the crowd, the unlabelled face left out
    assert agreement(train.labels, train.majority()) == agreement(np.array([0, 3, 6]), np.array([0, 6, NO_LABEL]))
    assert agreement(train.labels, train.majority()).rate == 0.5


@pytest.mark.slow
def test_the_shared_votes_match_the_published_counts(fer2013: FerData) -> None:
    if fer2013.test.votes is None:
        pytest.skip(f"FER+ votes not found beside the FER2013 CSV ({DEFAULT_VOTES_NAME})")
    data = fer2013
    # ../shared/data/README.md: faces with a majority label, and FER2013's agreement with it.
    assert [len(s.by_majority()) for s in (data.train, data.val, data.test)] == [24903, 3181, 3128]
    test = agreement(data.test.labels, data.test.majority())
    assert test.agree == len(data.test.certain()) == 2108 and round(100 * test.rate, 1) == 67.4
