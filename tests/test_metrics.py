from __future__ import annotations

import numpy as np
import pytest

from fer.metrics import SplitMetrics, score


def test_score_matches_hand_computed_values() -> None:
    y_true = np.array([0, 0, 3, 3, 3, 6])
    y_pred = np.array([0, 3, 3, 3, 6, 6])
    m = score(y_true, y_pred)
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.per_class["angry"].precision == 1.0 and m.per_class["angry"].recall == 0.5
    assert m.per_class["happy"].precision == pytest.approx(2 / 3)
    assert m.per_class["disgust"].support == 0
    assert np.array(m.confusion_matrix).shape == (7, 7) and m.confusion_matrix[0][3] == 1


def test_metrics_survive_a_json_round_trip() -> None:
    import json
    from dataclasses import asdict

    m = score(np.arange(7), np.arange(7))
    assert SplitMetrics.from_dict(json.loads(json.dumps(asdict(m)))) == m
    assert m.macro_f1 == 1.0
