from __future__ import annotations

from pathlib import Path

from fer.training.rundir import dedupe_history, logged_epochs


def test_dedupe_history_keeps_the_last_row_of_an_epoch(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy\n0,0.1\n1,0.2\n1,0.25\n2,0.3\n")
    assert [row["accuracy"] for row in logged_epochs(path)] == ["0.1", "0.25", "0.3"]
    assert logged_epochs(tmp_path / "absent.csv") == []
    dedupe_history(path)
    assert path.read_text().split() == ["epoch,accuracy", "0,0.1", "1,0.25", "2,0.3"]
