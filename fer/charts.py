"""Plotly figures for the app: live emotions, results of a batch or a video, and training reports."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fer.annotate import COLOURS
from fer.emotions import EMOTIONS

# One line style per member of a training history (a stage, an ensemble member, a soup ingredient).
DASHES = ("solid", "dot", "dash", "dashdot", "longdash", "longdashdot")

COLOUR_MAP = {name: f"rgb{rgb}" for name, rgb in COLOURS.items()}
PROBABILITY_COLUMNS = [f"p_{name}" for name in EMOTIONS]


def distribution_bar(distribution: dict[str, float], title: str = "Current emotion") -> go.Figure:
    fig = go.Figure(go.Bar(
        x=list(EMOTIONS), y=[distribution.get(e, 0.0) for e in EMOTIONS],
        marker_color=[COLOUR_MAP[e] for e in EMOTIONS],
    ))
    fig.update_layout(title=title, yaxis={"range": [0, 1], "tickformat": ".0%"}, height=300, margin={"t": 40, "b": 10})
    return fig


SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross")


def live_timeline(timeline: pd.DataFrame, window_s: float = 60.0) -> go.Figure:
    """Each face's winning emotion over the last minute, one dot per sample, one symbol per face.

    Redrawn every second while a stream runs, in the process that serves the stream: one trace per
    emotion built straight from the columns, not plotly.express, which costs ten times as much."""
    fig = go.Figure()
    for emotion, rows in timeline.groupby("emotion", sort=False):
        fig.add_trace(go.Scatter(
            x=rows["time_s"].to_numpy(), y=[emotion] * len(rows), mode="markers", name=str(emotion),
            marker={"color": COLOUR_MAP[str(emotion)], "size": 6,
                    "symbol": [SYMBOLS[int(t) % len(SYMBOLS)] for t in rows["track"]]},
        ))
    end = float(timeline["time_s"].max()) if len(timeline) else window_s
    fig.update_layout(title="Last minute", height=300, margin={"t": 40, "b": 10}, showlegend=False,
                      xaxis={"range": [max(0.0, end - window_s), max(end, window_s)], "title": "seconds"},
                      yaxis={"categoryorder": "array", "categoryarray": list(EMOTIONS), "type": "category"})
    return fig


def emotion_counts(emotions: pd.Series, title: str = "Emotions found") -> go.Figure:
    counts = emotions.value_counts().reindex(EMOTIONS, fill_value=0)
    fig = go.Figure(go.Bar(x=list(EMOTIONS), y=counts.to_numpy(), marker_color=[COLOUR_MAP[e] for e in EMOTIONS]))
    fig.update_layout(title=title, yaxis_title="faces", height=320, margin={"t": 40, "b": 10})
    return fig


def face_over_time(rows: pd.DataFrame, track: int) -> go.Figure:
    """Stacked probabilities of one tracked face across the analysed video frames."""
    face = rows[rows["track"] == track].sort_values("time_s")
    fig = go.Figure()
    for name, column in zip(EMOTIONS, PROBABILITY_COLUMNS, strict=True):
        fig.add_trace(go.Scatter(x=face["time_s"], y=face[column], name=name, stackgroup="p",
                                 line={"width": 0.5, "color": COLOUR_MAP[name]}))
    fig.update_layout(title=f"Face {track}", xaxis_title="seconds", yaxis={"range": [0, 1], "tickformat": ".0%"},
                      height=300, margin={"t": 40, "b": 10})
    return fig


def training_curves(history: pd.DataFrame) -> go.Figure:
    """Loss and accuracy per epoch, training and validation (PublicTest); one dash style per
    member where the history is an ensemble's or a staged run's (a ``member`` column).

    Each member's line appears once in the legend (colour: training or validation) and a click on it
    hides that line in both panels, so a soup of several runs stays readable."""
    runs = list(history.groupby("member", sort=False)) if "member" in history else [("", history)]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    for (member, run), dash in zip(runs, itertools.cycle(DASHES), strict=False):
        prefix = f"{member}: " if member else ""
        for split, colour, column in (("train", "#3a86ff", ""), ("validation", "#ff006e", "val_")):
            group = f"{prefix}{split}"
            for col, metric in ((1, "loss"), (2, "accuracy")):
                fig.add_trace(go.Scatter(x=run["epoch"] + 1, y=run[f"{column}{metric}"], name=group, mode="lines",
                                         legendgroup=group, showlegend=col == 1,
                                         hovertemplate=f"{group} {metric}: %{{y:.3f}}<extra>epoch %{{x}}</extra>",
                                         line={"color": colour, "dash": dash}), 1, col)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=420, margin={"t": 40, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})
    return fig


def confusion_heatmap(matrix: list[list[int]], title: str = "Confusion matrix (rows: true, normalised)",
                      columns: list[str] | None = None) -> go.Figure:
    """Rows (true emotions) normalised; ``columns``: the predicted labels where they are more than the
    seven emotions (a "no face" column)."""
    counts = np.asarray(matrix, dtype=float)
    normalised = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=normalised, x=columns or list(EMOTIONS), y=list(EMOTIONS), colorscale="Blues", zmin=0, zmax=1,
        text=[[f"{v:.0%}" for v in row] for row in normalised], texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{z:.1%}<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis={"title": "true", "autorange": "reversed"},
                      height=460, margin={"t": 40, "b": 10})
    return fig


def per_class_scores(per_class: dict[str, dict[str, float]], title: str = "Per-class scores (PrivateTest)") -> go.Figure:
    fig = go.Figure()
    for metric, colour in (("precision", "#3a86ff"), ("recall", "#ffbe0b"), ("f1", "#ff006e")):
        fig.add_trace(go.Bar(x=list(EMOTIONS), y=[per_class[e][metric] for e in EMOTIONS], name=metric,
                             marker_color=colour))
    fig.update_layout(barmode="group", yaxis={"range": [0, 1]}, height=340, margin={"t": 30, "b": 10},
                      title=title)
    return fig


def class_distribution(class_counts: dict[str, dict[str, int]]) -> go.Figure:
    train = [class_counts[e]["train"] for e in EMOTIONS]
    fig = go.Figure(go.Bar(x=list(EMOTIONS), y=train, marker_color=[COLOUR_MAP[e] for e in EMOTIONS]))
    fig.update_layout(title="Training set: images per class", height=320, margin={"t": 40, "b": 10})
    return fig


def decision_trade(candidates: list[dict], knob: str, chosen: float, floor: float | None) -> go.Figure:
    """Each candidate decision rule's PublicTest trade (FER+ majority accuracy against the clear
    faces' balanced accuracy), the floor the clear faces must keep, and the one shipped. ``candidates``:
    ``metrics.json``'s records of a logit adjustment (``knob`` "tau") or a head refit ("power")."""
    x = [c["certain_balanced_accuracy"] for c in candidates]
    y = [c["ferplus_accuracy"] for c in candidates]
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="lines+markers+text", text=[f"{c[knob]:g}" for c in candidates], textposition="top right",
        name=knob, hovertemplate=knob + " %{text}: clear %{x:.2%}, FER+ %{y:.2%}<extra></extra>"))
    pick = next(c for c in candidates if c[knob] == chosen)
    fig.add_trace(go.Scatter(x=[pick["certain_balanced_accuracy"]], y=[pick["ferplus_accuracy"]], mode="markers",
                             marker={"size": 14, "symbol": "star", "color": "#ff006e"}, name=f"shipped ({knob} {chosen:g})"))
    if floor is not None:
        fig.add_vline(x=floor, line_dash="dash", annotation_text=f"floor {floor:.1%}")
    fig.update_layout(title="Decision rule on PublicTest: the crowd's accuracy against clear faces kept",
                      xaxis={"title": "clear faces' balanced accuracy", "tickformat": ".0%"},
                      yaxis={"title": "FER+ majority accuracy", "tickformat": ".0%"}, height=380, margin={"t": 40, "b": 10})
    return fig
