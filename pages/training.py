import appkit  # noqa: I001 - first, see appkit
import hashlib
import json
import re

import pandas as pd
import streamlit as st

from fer import chain, charts
from fer.adapter import Adapter, AdapterError
from fer.adapting import AdaptError, Adaptation, adapt_images
from fer.adapting import Progress as AdaptProgress
from fer.folders import FolderReport, Verdict, check_images, zip_images
from fer.pipeline import EmotionPipeline
from fer.uploads import Rejected, count_uploads, system_files_line

appkit.require_navigation()

st.title("Training metrics")
metrics = appkit.read_report("metrics.json")
history = appkit.read_history()
if metrics is None:
    st.error("`models/metrics.json` is missing: run `python -m fer evaluate --model models/emotion_cnn.keras --data PATH`.")
    st.stop()

test = metrics["private_test"]
plus = metrics.get("ferplus", {}).get("private_test")
headline = (f"Model `{appkit.model_path_label()}`: **{test['accuracy']:.1%}** accuracy and macro-F1 "
            f"**{test['macro_f1']:.3f}** on FER2013's PrivateTest labels ({sum(map(sum, test['confusion_matrix'])):,} faces). ")
if plus is not None:
    certain = metrics["certain"]["private_test"]
    headline = (f"Model `{appkit.model_path_label()}`: **{plus['accuracy']:.1%}** accuracy (macro-F1 {plus['macro_f1']:.3f}) "
                f"against the FER+ majority of ten annotators on PrivateTest ({plus['faces']:,} faces with a majority, "
                f"{plus['left_out']:,} without); **{certain['balanced_accuracy']:.1%}** balanced accuracy on the "
                f"{certain['faces']:,} clear faces where both label sets agree; {test['accuracy']:.1%} against FER2013's "
                "single-annotator labels. ")
st.markdown(headline + "Trained on *Training* only; every choice (epochs, test-time augmentation, decision rule) was made "
            "on *PublicTest*.")
if plus is not None:
    st.caption(appkit.WHY_FERPLUS)
thorough = appkit.read_report("metrics_thorough.json")
if thorough is not None:
    # The label set the model was chosen by: FER+'s where both reports have it.
    label_set, quick, ten = ("FER+ majority", metrics["ferplus"], thorough["ferplus"]) \
        if "ferplus" in metrics and "ferplus" in thorough else ("FER2013", metrics, thorough)
    st.caption(
        f"Bulk labelling's thorough mode (ten views per face, the *Bulk photos* default): {label_set} accuracy "
        f"{ten['public_test']['accuracy']:.1%} on PublicTest against {quick['public_test']['accuracy']:.1%} by default, "
        f"{ten['private_test']['accuracy']:.1%} on PrivateTest against {quick['private_test']['accuracy']:.1%} "
        f"(macro-F1 {ten['private_test']['macro_f1']:.3f} against {quick['private_test']['macro_f1']:.3f}). "
        "The charts below are the default's."
    )

CONFIGS_DIR = appkit.MODELS_DIR.parent / "configs"


def shipped_section(history: pd.DataFrame, networks: list[chain.Network]) -> None:
    """The runs the shipped model is made of, as stages, and what to read in them."""
    st.plotly_chart(charts.shipped_curves(history, networks), width="stretch", key="shipped-curves")
    names = [run.name for network in networks for run in network.runs]
    kept = chain.kept_epochs(history).loc[lambda k: k.index.isin(names)]
    votes = all(run.labels == chain.FERPLUS for network in networks for run in network.runs)
    st.caption("Look at the gap between training and validation: at each run's kept epoch (★, its best on "
               f"PublicTest) {chain.gap_at_kept(kept)}."
               + (" Training loss sits higher as it is scored on augmented faces against the crowd's split votes."
                  if votes else ""))


def every_run_section(history: pd.DataFrame, networks: list[chain.Network]) -> None:
    """Every run of the chain, as history.csv has it, and each run's recipe in configs/."""
    runs = chain.every_run(history["member"].unique(), networks, CONFIGS_DIR)
    kept = chain.kept_epochs(history)
    st.plotly_chart(charts.training_curves(history, runs), width="stretch", key="every-run-curves")
    st.caption("Each run on its chain's epochs, validated on its own labels (in the legend): where the labels "
               "change, the curve steps, not the network. At ★, each run's kept epoch, the gap between training "
               "and validation is how far it had fitted its training labels.")
    st.dataframe(chain.runs_table(kept, runs), hide_index=True, width="stretch", placeholder="", column_config={
        "training accuracy": st.column_config.NumberColumn(format="%.3f"),
        "validation accuracy": st.column_config.NumberColumn(format="%.3f")})
    recipes = [name for name in kept.index if chain.config_file(name, CONFIGS_DIR)]
    pick = st.pills("A run's recipe in `configs/`", recipes, key="run-recipe")
    path = chain.config_file(pick, CONFIGS_DIR) if pick else None
    if path is not None:
        st.caption(f"`configs/{path.relative_to(CONFIGS_DIR)}`")
        st.code(path.read_text(), language="yaml")


if history is not None:
    shipped = [n for n in chain.read_networks(appkit.MODELS_DIR / "config.yaml")
               if "member" in history and history["member"].isin([r.name for r in n.runs]).any()]
    if shipped:
        shipped_section(history, shipped)
        with st.expander(f"Every run of the chain that led to it ({history['member'].nunique()} runs)"):
            every_run_section(history, shipped)
    else:  # a model copied in without its config record: its history as it is
        st.plotly_chart(charts.training_curves(history), width="stretch")


def scores_section(scores: dict, key: str) -> None:
    """The confusion matrix and per-class scores of one label set on PrivateTest."""
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.confusion_heatmap(scores["confusion_matrix"]), width="stretch", key=f"{key}-confusion")
    with right:
        st.plotly_chart(charts.per_class_scores(scores["per_class"]), width="stretch", key=f"{key}-per-class")
        table = pd.DataFrame(scores["per_class"]).T[["precision", "recall", "f1", "support"]]
        st.dataframe(table.style.format({"precision": "{:.3f}", "recall": "{:.3f}", "f1": "{:.3f}", "support": "{:,.0f}"}),
                     width="stretch", placeholder="")


label_sets = {"FER2013 labels (one annotator)": (test, "fer2013")}
if plus is not None:
    label_sets = {"FER+ majority (ten annotators)": (plus, "ferplus"),
                  "Clear faces (both agree)": (metrics["certain"]["private_test"], "certain"), **label_sets}
for tab, (scores, key) in zip(st.tabs(list(label_sets)), label_sets.values(), strict=True):
    with tab:
        scores_section(scores, key)

st.plotly_chart(charts.class_distribution(metrics["class_counts"]), width="stretch")

# How the shipped decision rule was chosen: the crowd's judgement against clear faces of every class.
for record_key, knob in (("class_balanced_head", "power"), ("logit_adjustment", "tau")):
    record = metrics.get(record_key)
    if record:
        st.plotly_chart(charts.decision_trade(record["public_test"], knob, record[knob], record.get("floor")),
                        width="stretch")
        st.caption(f"Chosen on PublicTest by the rule: {record['rule']}.")

baselines = appkit.read_report("baselines.json")
if baselines:
    st.subheader("Classical baselines (same split)")
    table = pd.DataFrame(baselines).T
    columns = [c for c in ("ferplus_private_test_accuracy", "private_test_accuracy", "private_test_macro_f1",
                           "public_test_accuracy", "fit_seconds", "description") if c in table]
    cnn = {"private_test_accuracy": test["accuracy"], "private_test_macro_f1": test["macro_f1"],
           "public_test_accuracy": metrics["public_test"]["accuracy"], "fit_seconds": None, "description": "the shipped model"}
    if plus is not None:
        cnn["ferplus_private_test_accuracy"] = plus["accuracy"]
    table.loc["CNN (ours)"] = pd.Series(cnn)
    # Numbers as numbers, the CNN's unmeasured fit time missing: shown as an empty cell, not "None".
    numeric = [c for c in columns if c != "description"]
    table[numeric] = table[numeric].apply(pd.to_numeric)
    st.dataframe(table[columns], width="stretch", placeholder="", column_config={
        "ferplus_private_test_accuracy": st.column_config.NumberColumn("PrivateTest, FER+ majority", format="%.3f"),
        "private_test_accuracy": st.column_config.NumberColumn("PrivateTest accuracy", format="%.3f"),
        "private_test_macro_f1": st.column_config.NumberColumn("PrivateTest macro-F1", format="%.3f"),
        "public_test_accuracy": st.column_config.NumberColumn("PublicTest accuracy", format="%.3f"),
        "fit_seconds": st.column_config.NumberColumn("fit (s)", format="%.0f")})

config_path = appkit.MODELS_DIR / "config.yaml"
if config_path.is_file():
    with st.expander("Training config"):
        st.code(config_path.read_text(), language="yaml")


# --- Check it on your own photos ----------------------------------------------------------------

MISREAD_LIMIT = 24


def check_zip(name: str, data: bytes, crops: bool) -> FolderReport:
    """Every image of an uploaded zip of emotion folders through the served pipeline, with a progress bar."""
    total = max(1, count_uploads([(name, data)]))
    bar = st.progress(0.0, text="Reading your photos…")
    done = 0

    def progress(outcome: Verdict | Rejected) -> None:
        nonlocal done
        done += 1
        bar.progress(min(1.0, done / total), text=f"{done}/{total}: {outcome.name}")

    skipped: list[Rejected] = []
    system_files: list[str] = []
    report = check_images(zip_images(name, data, skipped, system_files), appkit.pipeline(crops=crops), skipped,
                          on_image=progress, system_files=system_files)
    bar.empty()
    return report


def scores_row(summary: dict, key: str, before: dict | None = None) -> None:
    """A report's headline numbers (against ``before``'s, where given) and its two charts."""
    m1, m2, m3, m4 = st.columns(4)
    delta = (lambda name: f"{summary[name] - before[name]:+.1%} against the shipped model") if before else (lambda _: None)
    m1.metric("Accuracy", f"{summary['accuracy']:.1%}", delta("accuracy"))
    m2.metric("Balanced accuracy", f"{summary['balanced_accuracy']:.1%}", delta("balanced_accuracy"),
              help="The mean of the per-emotion recalls, over the emotions your set has: every emotion counts the "
                   "same, however many photos it has.")
    m3.metric("Photos", summary["images"])
    m4.metric("No face found", summary["faces_not_found"])
    left, right = st.columns(2)
    left.plotly_chart(charts.per_class_scores(summary["per_class"], "Per-emotion scores (your photos)"),
                      width="stretch", key=f"{key}-per-class")
    right.plotly_chart(charts.confusion_heatmap(summary["confusion_matrix"], columns=summary["confusion_columns"]),
                       width="stretch", key=f"{key}-confusion")


def show_skipped(skipped: list[Rejected], system_files: list[str]) -> None:
    for item in skipped:
        st.warning(f"**{item.name}** was skipped: {item.reason}")
    if (line := system_files_line(system_files)) is not None:
        st.caption(line + ".")


def own_photos_section() -> None:
    st.header("Check it on your own photos")
    st.caption("Upload a .zip with one folder per emotion (angry, disgust, fear, happy, sad, surprise, neutral, in any "
               "case; synonyms such as anger or happiness too). Each photo goes through the app's own pipeline (with "
               "your adapter, while you use one), its largest face is its answer, and a photo where no face is found "
               "counts as wrong. Processed in memory, not stored.")
    own_crops = st.toggle("My photos are face crops", False, key="own-crops", help=appkit.CROPS_HELP)
    own = st.file_uploader("A .zip of emotion folders", type=["zip"], key="own-zip")
    if own is None:
        return
    data = own.getvalue()
    own_key = (own.name, hashlib.sha1(data).hexdigest(), own_crops, appkit.adapter_signature())
    if st.session_state.get("own-key") != own_key:
        st.session_state["own-report"] = check_zip(own.name, data, own_crops)
        st.session_state["own-key"] = own_key
    report: FolderReport = st.session_state["own-report"]
    show_skipped(report.skipped, report.system_files)
    try:
        summary = report.summary()
    except ValueError as exc:
        st.error(f"Nothing to score in **{own.name}**: {exc}. The zip needs folders named after the emotions, "
                 "with photos in them.")
        return
    scores_row(summary, "own")
    misread = [(v.crop, f"{v.true} → {v.predicted}") for v in report.verdicts if not v.correct and v.crop is not None]
    if misread:
        st.subheader("Misread faces")
        gallery = st.columns(6)
        for i, (crop, caption) in enumerate(misread[:MISREAD_LIMIT]):
            gallery[i % 6].image(crop, caption=caption, width="stretch")
        if len(misread) > MISREAD_LIMIT:
            st.caption(f"The first {MISREAD_LIMIT} of {len(misread)}; the CSV lists every photo.")
    rows = pd.DataFrame(report.rows())
    c1, c2 = st.columns(2)
    c1.download_button("Download report (JSON)", json.dumps(summary | {"predictions": report.rows()}, indent=2),
                       "my_photos_report.json", "application/json")
    c2.download_button("Download every photo's answer (CSV)", rows.to_csv(index=False), "my_photos_answers.csv", "text/csv")


# --- Adapt it to your photos ----------------------------------------------------------------------

ADAPT_HELP = (
    "An adapter is a small head fit, in seconds, on the shipped model's reading of *your* labelled faces (a lab's "
    "participants, a shop's camera, a film archive), blended with the model's own answer. Before you use it, it is "
    "checked by a 5-fold: the *after* figures are what it scored on your faces that it never saw, its settings chosen "
    "without them. It makes the model better on faces like yours and **worse on faces unlike them** (on FER2013's "
    "own faces, a film-crop adapter cost 13 points against the ten annotators), so it is never the default; it is used only in this browser "
    "tab, and nothing is kept on the server once the tab closes.")
GROUP_HELP = ("When several photos show one person, or several frames one clip, they look alike, and a check that fits "
              "on one and scores on its twin flatters the adapter. Give a regular expression whose first group names "
              "each photo's person or clip in its file name: `^([^_]+)_` takes what comes before the first "
              "underscore (a film's name in `Movie_clip_frame.png`). Empty: every photo its own.")


def fit_zip(name: str, data: bytes, crops: bool, group: str | None) -> tuple[Adaptation, list[Rejected], list[str]]:
    """An adapter fit on an uploaded zip of emotion folders, with a progress bar; AdaptError where it cannot be."""
    bar = st.progress(0.0, text="Reading your photos…")
    total = max(1, count_uploads([(name, data)]))

    def progress(step: AdaptProgress) -> None:
        if step.stage == "reading":
            bar.progress(min(1.0, step.done / total) * 0.5, text=f"Reading your photos: {step.done}/{total}")
        else:
            bar.progress(0.5 + 0.5 * step.done / max(step.total or 1, 1), text="Choosing and fitting the head by the k-fold…")

    skipped: list[Rejected] = []
    system_files: list[str] = []
    reader = EmotionPipeline(appkit.shared_pipeline().detector, appkit.embedding_classifier(), crops=crops)
    try:
        return adapt_images(zip_images(name, data, skipped, system_files), reader, skipped, group, progress,
                            total), skipped, system_files
    finally:
        bar.empty()


def adapt_section() -> None:
    st.header("Adapt it to your photos")
    st.caption(ADAPT_HELP)
    left, right = st.columns(2)
    crops = left.toggle("My photos are face crops", False, key="adapt-crops", help=appkit.CROPS_HELP)
    group = right.text_input("Photos that look alike (optional)", key="adapt-group", placeholder="^([^_]+)_",
                             help=GROUP_HELP).strip() or None
    upload = st.file_uploader("A .zip of emotion folders to adapt the model to", type=["zip"], key="adapt-zip")
    if upload is not None:
        data = upload.getvalue()
        key = (upload.name, hashlib.sha1(data).hexdigest(), crops, group)
        if st.session_state.get("adapt-key") != key:
            st.session_state.pop("adapt-result", None)
            try:
                st.session_state["adapt-result"] = fit_zip(upload.name, data, crops, group)
            except (AdaptError, re.error) as exc:
                st.session_state["adapt-result"] = str(exc)
            st.session_state["adapt-key"] = key
        result = st.session_state["adapt-result"]
        if isinstance(result, str):
            st.error(f"No adapter from **{upload.name}**: {result}")
        else:
            adaptation_results(*result)
    adapter_file_section()


def adaptation_results(adaptation: Adaptation, skipped: list[Rejected], system_files: list[str]) -> None:
    show_skipped(skipped, system_files)
    report = adaptation.report
    for warning in report.warnings:
        st.warning(warning)
    faces = ", ".join(f"{name} {n}" for name, n in report.faces.items() if n)
    st.markdown(f"**Faces it was fit on:** {faces}. **The check:** a {report.folds}-fold"
                + (f" keeping {report.groups} groups of alike photos together" if report.groups else "")
                + "; below, each face read by a head that never saw it.")
    before, after = st.tabs(["With the adapter (faces it never saw)", "The shipped model (the same faces)"])
    with before:
        scores_row(report.after, "adapt-after", report.before)
    with after:
        scores_row(report.before, "adapt-before")
    st.caption(f"Chosen by the k-fold: head regularisation C = {report.chosen.regularisation:g}, blend weight "
               f"{report.chosen.blend:g} (0: the model alone, 1: the head alone).")
    c1, c2 = st.columns(2)
    c1.download_button("Download the adapter", adaptation.adapter.to_bytes(), "my.adapter", "application/octet-stream",
                       help="Use it again here, or with `python -m fer label --adapter my.adapter`.")
    if c2.button("Use it here", type="primary", help="The live, photos and videos pages of this tab read with it."):
        appkit.use_adapter(adaptation.adapter)
        st.rerun()


def adapter_file_section() -> None:
    file = st.file_uploader("Or use an adapter file (.adapter)", type=["adapter"], key="adapter-file")
    if file is None:
        return
    key = (file.name, hashlib.sha1(file.getvalue()).hexdigest())
    if st.session_state.get("adapter-file-key") == key:
        return  # this file was taken already: the user may have gone back to the shipped model since
    st.session_state["adapter-file-key"] = key
    try:
        appkit.use_adapter(Adapter.from_bytes(file.getvalue(), source=file.name))
    except AdapterError as exc:
        st.error(str(exc))
        return
    st.rerun()


appkit.adapter_notice("training")
own_photos_section()
adapt_section()
