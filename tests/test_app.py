"""Every page under streamlit.testing's AppTest: renders, labels real uploads, reports bad ones."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_app_navigation_renders_the_home_page() -> None:
    at = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=TIMEOUT).run()
    assert_clean(at)
    assert at.title[0].value == "Facial expression recognition"
    shown = {m.label: m.value for m in at.metric}
    metrics = json.loads((ROOT / "models" / "metrics.json").read_text())
    # The shipped model's numbers, as metrics.json has them (tests/test_export.py ties that file to the model).
    assert shown["Accuracy, FER2013 PrivateTest"] == f"{metrics['private_test']['accuracy']:.1%}"
    assert shown["Macro-F1, PrivateTest"] == f"{metrics['private_test']['macro_f1']:.3f}"
    assert shown["Accuracy, FER+ majority, PrivateTest"] == f"{metrics['ferplus']['private_test']['accuracy']:.1%}"
    assert any("Nothing is stored" in i.value for i in at.info)


def test_training_page_shows_curves_matrix_and_scores() -> None:
    at = page("training.py").run()
    assert_clean(at)
    # curves, confusion, per-class, class distribution, the decision rule's trade
    assert len(at.get("plotly_chart")) >= 5
    assert any("thorough mode" in c.value for c in at.caption)
    assert any(c.value.startswith("Chosen on PublicTest by the rule") for c in at.caption)


def test_live_page_renders_before_a_stream_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    # AppTest's stand-in Runtime has no session manager; streamlit-webrtc copes with "no session
    # info" (it then skips its run-count bookkeeping), so give it exactly that.
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    at = page("live.py").run()
    assert_clean(at)
    assert "START" in at.info[0].value
    assert [s.label for s in at.sidebar.slider] == [
        "Detection threshold", "Smoothing", "Detect faces every k frames", "Label confidence threshold"]


@pytest.mark.slow
def test_photos_page_labels_real_photos_and_offers_downloads(media: Path) -> None:
    at = page("photos.py").run()
    files = [(n, (media / n).read_bytes(), "image/jpeg") for n in ("justin.jpg", "couple.jpg", "no-faces.jpg")]
    at.file_uploader[0].set_value(files)
    at.run()
    assert_clean(at)
    assert "3 image(s) labelled, 3 face(s) found." in at.success[0].value
    assert {b.label for b in at.download_button} >= {
        "Download CSV", "Download JSON", "Download labelled faces (dataset ZIP)"}
    table = at.dataframe[0].value
    assert sorted(table[table.status == "ok"].file.value_counts().to_dict().items()) == [("couple.jpg", 2), ("justin.jpg", 1)]
    assert list(table.columns[:4]) == ["file", "face", "emotion", "confidence"] and "time_s" not in table.columns
    assert len(at.get("imgs")) or len(at.get("image"))  # the gallery


@pytest.mark.slow
def test_photos_page_reads_faces_thoroughly_by_default_and_quickly_on_request(media: Path) -> None:
    at = page("photos.py").run()
    switch, crops = at.sidebar.toggle
    assert switch.label == "Thorough: ten views per face" and switch.value is True
    assert crops.label == "My photos are face crops" and crops.value is False
    at.file_uploader[0].set_value([("justin.jpg", (media / "justin.jpg").read_bytes(), "image/jpeg")])
    thorough = at.run().dataframe[0].value
    quick = at.sidebar.toggle[0].set_value(False).run().dataframe[0].value
    assert_clean(at)
    assert thorough.emotion.tolist() == quick.emotion.tolist() == ["happy"]
    assert thorough.confidence.iloc[0] != quick.confidence.iloc[0]  # labelled again, by the model alone


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_photos_page_bad_files_get_messages_and_good_ones_still_count(media: Path) -> None:
    portrait = (media / "portrait.jpg").read_bytes()
    archive = zip_bytes({"ok/portrait.jpg": portrait, "../escape.jpg": portrait, "inner.zip": zip_bytes({"a.jpg": portrait}),
                         "notes.txt": b"hi"})
    files = [
        ("portrait.jpg", portrait, "image/jpeg"),
        ("empty.png", b"", "image/png"),
        ("fake.jpg", b"plain text, not a JPEG", "image/jpeg"),
        ("cut.jpg", portrait[: len(portrait) // 2], "image/jpeg"),
        ("album.zip", archive, "application/zip"),
    ]
    at = page("photos.py").run()
    at.file_uploader[0].set_value(files)
    at.run()
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    for expected in ("empty.png", "fake.jpg", "cut.jpg", "album.zip/../escape.jpg", "album.zip/inner.zip", "album.zip/notes.txt"):
        assert expected in warnings
    assert "2 image(s) labelled, 2 face(s) found." in at.success[0].value  # portrait.jpg and album.zip/ok/portrait.jpg


@pytest.mark.slow
def test_videos_page_analyses_a_real_video(media: Path) -> None:
    at = page("videos.py").run()
    at.sidebar.number_input[0].set_value(5)
    at.file_uploader[0].set_value(("test.mp4", (media / "test.mp4").read_bytes(), "video/mp4"))
    at.run()
    assert_clean(at)
    assert "115 frames" in at.success[0].value and "23 analysed" in at.success[0].value
    assert {b.label for b in at.download_button} == {"Download CSV", "Download annotated video"}
    assert at.metric[0].label == "Dominant emotion overall"


def test_videos_page_reports_an_undecodable_video() -> None:
    at = page("videos.py").run()
    at.file_uploader[0].set_value(("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300, "video/mp4"))
    at.run()
    assert_clean(at)
    assert "broken.mp4" in at.error[0].value and "could not be analysed" in at.error[0].value
    (row,) = at.dataframe[0].value.itertuples()  # what the CSV download holds
    assert row.file == "broken.mp4" and row.status.startswith("error: ")
    assert [b.label for b in at.download_button] == ["Download CSV"]


def test_photos_page_downloads_say_what_was_skipped(media: Path) -> None:
    at = page("photos.py").run()
    at.file_uploader[0].set_value([("justin.jpg", (media / "justin.jpg").read_bytes(), "image/jpeg"),
                                   ("fake.jpg", b"plain text, not a JPEG", "image/jpeg"), ("empty.png", b"", "image/png")])
    at.run()
    assert_clean(at)
    # The table the CSV and JSON downloads are made of: one row per skipped file, as `fer label` writes it.
    table = at.dataframe[0].value
    skipped = table[table.status.str.startswith("error: ")]
    assert sorted(skipped.file) == ["empty.png", "fake.jpg"]
    assert table[table.status == "ok"].file.tolist() == ["justin.jpg"]


@pytest.mark.slow
def test_photos_page_reads_face_crops_whole_on_request(sfew: Path) -> None:
    crops = [(p.name, p.read_bytes(), "image/png") for p in sorted((sfew / "happy").glob("*.png"))[:3]]
    at = page("photos.py").run()
    at.file_uploader[0].set_value(crops)
    found = at.run().dataframe[0].value
    assert_clean(at)
    assert (found.status == "ok").sum() >= 2  # found by the padded second look
    at.sidebar.toggle[1].set_value(True).run()
    whole = at.dataframe[0].value
    assert_clean(at)
    assert whole.status.tolist() == ["ok"] * 3 and whole.x.tolist() == [0, 0, 0]  # the whole image, one face each


@pytest.mark.slow
def test_training_page_checks_the_model_on_your_own_labelled_photos(sfew: Path) -> None:
    members = {f"mine/{folder}/{p.name}": p.read_bytes()
               for source, folder in (("angry", "Anger"), ("happy", "happy"), ("surprise", "surprised"))
               for p in sorted((sfew / source).glob("*.png"))[:3]}
    members["mine/contempt/x.png"] = members[next(iter(members))]
    at = page("training.py").run()
    at.toggle(key="own-crops").set_value(True)
    at.file_uploader(key="own-zip").set_value(("mine.zip", zip_bytes(members), "application/zip"))
    at.run()
    assert_clean(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Photos"] == "9" and shown["No face found"] == "0"
    assert shown["Accuracy"].endswith("%") and shown["Balanced accuracy"].endswith("%")
    assert any("mine.zip/mine/contempt" in w.value and "not one of the seven" in w.value for w in at.warning)
    assert {b.label for b in at.download_button} >= {"Download report (JSON)", "Download every photo's answer (CSV)"}


@pytest.mark.slow
def test_training_page_says_what_is_wrong_with_a_zip_it_cannot_score() -> None:
    at = page("training.py").run()
    at.file_uploader(key="own-zip").set_value(("mine.zip", b"not a zip at all", "application/zip"))
    at.run()
    assert_clean(at)
    assert "not a readable zip archive" in " ".join(w.value for w in at.warning)
    assert "Nothing to score in **mine.zip**" in at.error[0].value


def legend_entries(chart) -> list[str]:
    """A plotly chart's legend as the browser draws it: every trace whose showlegend is not false."""
    return [trace.get("name", "") for trace in json.loads(chart.proto.spec)["data"] if trace.get("showlegend", True)]


@pytest.mark.slow
def test_training_page_tells_the_shipped_model_story_first_and_every_run_on_request() -> None:
    import pandas as pd

    from fer.chain import read_networks

    at = page("training.py").run()
    assert_clean(at)
    shipped, every = at.get("plotly_chart")[:2]
    runs = [run.name for network in read_networks(ROOT / "models" / "config.yaml") for run in network.runs]
    assert legend_entries(shipped) == runs and len(runs) <= 6
    assert any(c.value.startswith("Look at the gap between training and validation") for c in at.caption)
    # The whole history, in the expander: one entry a run of history.csv, each with its recipe.
    members = pd.read_csv(ROOT / "models" / "history.csv")["member"].unique().tolist()
    assert [name.split(" (")[0] for name in legend_entries(every)] == members
    at.button_group(key="run-recipe").set_value("resnet-r2").run()
    assert_clean(at)
    assert (ROOT / "configs" / "resnet-r2.yaml").read_text().strip() in [c.value.strip() for c in at.code]


def shown_cells(table) -> list[str]:
    """The text st.dataframe draws in each cell: a styled table's display values; otherwise each
    value, and for a missing one the table's placeholder (Streamlit's default placeholder is "None")."""
    import pandas as pd
    from streamlit import dataframe_util

    if table.proto.arrow_data.HasField("styler"):
        shown = dataframe_util.convert_arrow_bytes_to_pandas_df(table.proto.arrow_data.styler.display_values)
        return [str(value) for value in shown.to_numpy().ravel()]
    placeholder = table.proto.placeholder if table.proto.HasField("placeholder") else "None"
    values = table.value
    cells = [*values.index, *values.to_numpy().ravel()]
    return [placeholder if pd.isna(value) else str(value) for value in cells]


@pytest.mark.slow
def test_training_page_tables_show_no_none_nan_or_nat() -> None:
    at = page("training.py").run()
    assert_clean(at)
    assert len(at.dataframe) >= 5  # three label sets' per-class scores, the baselines, every run
    for table in at.dataframe:
        assert not {"None", "nan", "NaN", "NaT", "<NA>"} & set(shown_cells(table)), table.value
    baselines = next(t for t in at.dataframe if "fit_seconds" in t.value)
    assert baselines.value.loc["CNN (ours)", "fit_seconds"] != baselines.value.loc["CNN (ours)", "fit_seconds"]
    assert "" in shown_cells(baselines)  # the CNN's fit time, not measured: an empty cell


@pytest.mark.slow
def test_photos_page_offers_the_annotated_zip_once_from_a_temporary_file(media: Path) -> None:
    import downloads

    at = page("photos.py").run()
    files = [(n, (media / n).read_bytes(), "image/jpeg") for n in ("justin.jpg", "justin.jpg")]  # one name, twice
    at.file_uploader[0].set_value(files)
    at.run()
    next(b for b in at.button if b.label == "Make the annotated images (ZIP)").click().run()
    assert_clean(at)
    (link,) = [b for b in at.get("link_button") if b.proto.label == "Download annotated images (ZIP)"]
    _, offer = at.session_state["photos-annotated"]
    assert link.proto.url == offer.url and offer.url.startswith(f"/{downloads.PREFIX}/")
    with zipfile.ZipFile(downloads._pending[offer.token].path) as archive:
        assert archive.namelist() == ["justin_annotated.jpg", "justin_annotated (2).jpg"]
    # Two uploads of one name: two photos, each with its own face in the corrections.
    editable = at.session_state["photos-result"][1]
    assert editable.photo.tolist() == [0, 1] and editable.file.tolist() == ["justin.jpg"] * 2


def crops_zip(sfew: Path, per_emotion: int, emotions: tuple[str, ...] = ("angry", "happy", "neutral")) -> bytes:
    """sfew-train crops (read in place, zipped in memory) in emotion folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for emotion in emotions:
            for path in sorted((sfew / emotion).glob("*.png"))[:per_emotion]:
                archive.writestr(f"faces/{emotion}/{path.name}", path.read_bytes())
    return buffer.getvalue()


@pytest.mark.slow
def test_an_adapter_fit_on_the_training_page_changes_the_photos_pages_answers_until_dropped(sfew: Path) -> None:
    at = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=TIMEOUT).run()

    def photo_answers() -> list[float]:
        at.switch_page("pages/photos.py").run()
        at.toggle(key="photos-crops").set_value(True).run()
        files = [(p.name, p.read_bytes(), "image/png") for p in sorted((sfew / "angry").glob("*.png"))[20:26]]
        at.file_uploader[0].set_value(files).run()
        assert_clean(at)
        return at.dataframe[0].value.p_angry.tolist()

    shipped = photo_answers()
    at.switch_page("pages/training.py").run()
    at.toggle(key="adapt-crops").set_value(True)
    at.text_input(key="adapt-group").set_value("^([^_]+)_")  # these 36 crops come from 4 films: too few groups
    at.file_uploader(key="adapt-zip").set_value([("mine.zip", crops_zip(sfew, 12), "application/zip")])
    at.run()
    assert "gives 4 group(s): a 5-fold needs at least 5" in at.error[0].value
    at.text_input(key="adapt-group").set_value("").run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert {"Accuracy", "Balanced accuracy"} <= {m.label for m in at.metric}
    assert "Download the adapter" in {b.label for b in at.download_button}
    adaptation = at.session_state["adapt-result"][0]
    assert adaptation.report.faces == {"angry": 12, "disgust": 0, "fear": 0, "happy": 12, "sad": 0, "surprise": 0,
                                       "neutral": 12}
    next(b for b in at.button if b.label == "Use it here").click().run()
    assert at.session_state["adapter"] is adaptation.adapter
    adapted = photo_answers()
    assert any("Reading with your adapter, fit on 36 faces" in i.value for i in at.info)
    assert adapted != shipped  # every face read with the head blended in
    next(b for b in at.button if b.label == "Back to the shipped model").click().run()
    assert at.session_state["adapter"] is None
    assert photo_answers() == shipped


@pytest.mark.slow
def test_a_foreign_or_broken_adapter_file_is_refused_with_a_message() -> None:
    at = page("training.py").run()
    at.file_uploader(key="adapter-file").set_value([("x.adapter", b"\x80\x04 pickled? no", "application/octet-stream")])
    at.run()
    assert_clean(at)
    assert at.error and "x.adapter" in at.error[0].value
    assert "adapter" not in at.session_state or at.session_state["adapter"] is None
