"""Plotly figures for the app: live emotions, results of a batch or a video, and training reports."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fer.annotate import COLOURS
from fer.chain import Network, Run, kept_epochs
from fer.emotions import EMOTIONS

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


# One colour per run; training solid and validation dotted in it (Keras' and TensorBoard's pairing).
RUN_COLOURS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#17BECF", "#BCBD22",
               "#7F7F7F", "#393B79", "#AD494A")
SPLITS = (("training", "", "solid"), ("validation", "val_", "dot"))
# A legend a newcomer reads at a glance: past this many runs, one entry per network instead.
MAX_LEGEND = 6


@dataclass(frozen=True)
class _Line:
    """How one run is drawn: its name, its validation label set, its colour, and the legend entry
    that shows and hides all its lines (``group``, shown where ``legend``)."""

    name: str
    labels: str
    colour: str
    group: str
    legend: bool


def training_curves(history: pd.DataFrame, runs: Mapping[str, Run] | None = None) -> go.Figure:
    """Every run of a history on its chain's epochs: loss and accuracy, training and validation
    (PublicTest), one colour per run (a ``member`` column names them) and one legend entry, which
    shows and hides all its lines. ``runs`` gives each run's validation label set, in its legend
    entry and hover, since a chain can change label sets midway."""
    runs = runs or {}
    kept = kept_epochs(history)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    members = history.groupby("member", sort=False) if "member" in history else [("", history)]
    for (name, run), colour in zip(members, itertools.cycle(RUN_COLOURS), strict=False):
        labels = runs[name].labels if name in runs else ""
        legend = f"{name} ({labels.split()[0]})" if labels else str(name)
        _add_run(fig, run, kept.loc[name], _Line(str(name), labels, colour, legend, True), row=1)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(tickformat=".0%", col=2)
    fig.update_layout(height=460, margin={"t": 40, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0})
    return fig


def shipped_curves(history: pd.DataFrame, networks: Sequence[Network]) -> go.Figure:
    """How a model's networks were trained, one row per network: the runs its weights come from
    (``fer.chain.networks``) as stages on its chain's epoch axis, where each stage starts and where the
    runs became one network marked and named, training solid and validation dotted in one colour per
    run, and a star at the epoch each run kept. At most ``MAX_LEGEND`` legend entries: one per run,
    or one per network past that."""
    kept = kept_epochs(history)
    shown = [Network(n.name, tuple(r for r in n.runs if r.name in kept.index), n.made_by) for n in networks]
    shown = [n for n in shown if n.runs]
    by_network = sum(len(n.runs) for n in shown) > MAX_LEGEND
    labels = {run.labels for n in shown for run in n.runs}
    fig = make_subplots(rows=len(shown), cols=2, vertical_spacing=0.32 / len(shown), horizontal_spacing=0.09)
    colours = itertools.cycle(RUN_COLOURS)
    for row, network in enumerate(shown, start=1):
        for i, run in enumerate(network.runs):
            group = network.name if by_network else run.name
            line = _Line(run.name, run.labels, next(colours), group, not by_network or i == 0)
            _add_run(fig, history[history["member"] == run.name], kept.loc[run.name], line, row)
        _mark_stages(fig, network, kept, row)
        fig.add_annotation(text=f"<b>{network.name}</b>: {network.made_by} of {_count(len(network.runs), 'run')}",
                           x=0, xref="paper", xanchor="left", y=1, yref="y" + _axis(row, 1) + " domain",
                           yanchor="bottom", yshift=6, showarrow=False, font={"size": 13})
    scored = next(iter(labels)) if len(labels) == 1 else "each run's labels, in its hover"
    fig.update_xaxes(title_text="epoch of its chain", row=len(shown))
    fig.update_yaxes(title_text="loss", col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", col=2)
    fig.update_layout(
        title={"text": f"Training solid, validation dotted (PublicTest, {scored}); ★ the epoch each run kept",
               "font": {"size": 14}},
        height=130 + 300 * len(shown), margin={"t": 80, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.16 / len(shown), "x": 0})
    return fig


def _add_run(fig: go.Figure, run: pd.DataFrame, kept: pd.Series, line: _Line, row: int) -> None:
    """One run's training and validation curves in the loss and accuracy panels of ``row``, and a
    star on its validation curves at the epoch it kept. A run with no name (a history of one run)
    lists training and validation in the legend instead of itself."""
    for split, prefix, dash in SPLITS:
        scored = f"validation (PublicTest, {line.labels})" if prefix and line.labels else split
        group = line.group or split
        for col, metric in ((1, "loss"), (2, "accuracy")):
            fig.add_trace(go.Scatter(
                x=run["epoch"] + 1, y=run[prefix + metric], mode="lines", name=group, legendgroup=group,
                showlegend=line.legend and col == 1 and (not prefix or not line.group),
                line={"color": line.colour, "dash": dash},
                hovertemplate=f"{line.name} {scored} {metric}: %{{y:.3f}}<extra>epoch %{{x}}</extra>"), row, col)
    for col, metric in ((1, "val_loss"), (2, "val_accuracy")):
        fig.add_trace(go.Scatter(
            x=[kept["kept"]], y=[kept[metric]], mode="markers", name=f"{line.name} kept", legendgroup=line.group or "validation",
            showlegend=False, marker={"symbol": "star", "size": 12, "color": line.colour, "line": {"width": 1, "color": "white"}},
            hovertemplate=f"{line.name} kept epoch %{{x}}: validation {metric[4:]} %{{y:.3f}}<extra></extra>"), row, col)


def _mark_stages(fig: go.Figure, network: Network, spans: pd.DataFrame, row: int) -> None:
    """A dashed line where each stage of ``network`` that starts from other weights begins, and one
    where its runs became one network (a soup, a head refit), each named on its left in the loss
    panel: before a stage, the curves there are the stage before's, fallen low. Runs that start
    together are one stage."""
    names = {run.name for run in network.runs}
    stages: dict[float, list[Run]] = {}
    for run in network.runs:
        stages.setdefault(spans.loc[run.name, "first"] - 0.5, []).append(run)
    end = spans.loc[list(names), "last"].max() + 0.5
    marks = [(start, _stage_name(runs, names)) for start, runs in stages.items() if runs[0].parent is not None]
    if network.made_by != "run":
        marks.append((end, network.made_by))
    for x, text in marks:
        for col in (1, 2):
            fig.add_vline(x=x, line={"dash": "dash", "color": "#888", "width": 1}, row=row, col=col)
        fig.add_annotation(x=x, y=1, xref="x" + _axis(row, 1), yref=f"y{_axis(row, 1)} domain", text=text,
                           textangle=-90, showarrow=False, xanchor="right", yanchor="top",
                           font={"size": 11, "color": "#444"}, bgcolor="rgba(255,255,255,0.75)")
    # An epoch of room before a stage that starts from another network: its name goes there, clear of the curves.
    fig.update_xaxes(range=[min(stages) - (1.5 if min(stages) in dict(marks) else 0.5), end + 0.5], row=row)


def _stage_name(runs: list[Run], network_runs: set[str]) -> str:
    tunes = "fine-tune" if len(runs) == 1 else f"{len(runs)} fine-tunes"
    parent = runs[0].parent
    return tunes if parent in network_runs else f"{tunes} of {parent}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _axis(row: int, col: int) -> str:
    """Plotly's suffix of a subplot's axes in a two-column grid ("" for the first)."""
    index = (row - 1) * 2 + col
    return "" if index == 1 else str(index)


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
