import appkit  # noqa: I001 - first, see appkit
import base64
import hashlib

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from fer import charts
from fer.emotions import EMOTIONS
import downloads
from fer.exports import LabelledFace, dataset_zip, table_csv, table_json, write_annotated_zip
from fer.labelling import PhotoBatch, label_uploads, on_screen
from fer.uploads import system_files_line

appkit.require_navigation()

GALLERY_LIMIT = 24


def thumbnail(crop: np.ndarray) -> str:
    _ok, png = cv2.imencode(".png", crop)
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def corrections_table(batch: PhotoBatch) -> pd.DataFrame:
    """One row per face: what the model saw, its label, and a label column for the user to fix.
    ``photo`` is the upload's position, so two uploads of one name keep their own faces."""
    faces = [(image, i, face) for image in batch.images for i, face in enumerate(image.faces)]
    return pd.DataFrame({
        "face": [thumbnail(face.crop) if face.crop is not None else None for _, _, face in faces],
        "file": [image.name for image, _, _ in faces], "index": [i for _, i, _ in faces],
        "predicted": [face.emotion for _, _, face in faces], "label": [face.emotion for _, _, face in faces],
        "photo": [image.index for image, _, _ in faces],
    })


def offer_annotated_zip(batch: PhotoBatch, files: list[tuple[str, bytes]]) -> downloads.Offer:
    """The annotated photos written to a temporary file photo by photo, offered for one download."""
    bar = st.progress(0.0, text="Annotating…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Annotating: {done}/{total}")

    path = downloads.new_file(".zip")
    try:
        with path.open("wb") as out:
            write_annotated_zip(batch.images, files, out, on_photo=progress)
    except BaseException:  # a rerun interrupts the script with an exception too: no half file is left
        path.unlink(missing_ok=True)
        raise
    bar.empty()
    return downloads.Offer(path, "annotated.zip", "application/zip")

st.title("Bulk photos")
appkit.adapter_notice("photos")
max_mb = st.get_option("server.maxUploadSize")
st.caption(f"Upload photos (JPEG, PNG, WebP, BMP) or .zip archives of them, up to {max_mb} MB per file. They are "
           "labelled one at a time in memory and not stored.")
detector, min_score = appkit.detector_controls("photos")
# On by default here: a photo's decoding and detection already cost several times the extra views.
thorough = appkit.thorough_control("photos", default=True)
crops = appkit.crops_control("photos")
uploaded = st.file_uploader("Photos or .zip archives", type=["jpg", "jpeg", "png", "webp", "bmp", "zip"],
                            accept_multiple_files=True)
if not uploaded:
    st.info("Upload some photos to label every face in them.")
    st.stop()

files = [(f.name, f.getvalue()) for f in uploaded]
signature = hashlib.sha1(repr([(n, len(d), hashlib.sha1(d).hexdigest()) for n, d in files]
                              + [detector, min_score, thorough, crops, appkit.adapter_signature()]).encode()).hexdigest()
if st.session_state.get("photos-signature") != signature:
    st.session_state.pop("photos-result", None)  # the last batch's results go before this one is labelled
    bar = st.progress(0.0, text="Labelling…")

    def show_progress(done: int, total: int, name: str) -> None:
        bar.progress(done / max(total, 1), text=f"{done}/{total}: {name}")

    # Only what the page shows is kept per photo (fer.labelling.label_uploads): rows, face crops and
    # the gallery's previews; the annotated ZIP is made from the uploads when it is asked for.
    labelled = label_uploads(files, appkit.pipeline(detector, min_score, thorough, crops), on_progress=show_progress,
                             previews=GALLERY_LIMIT)
    bar.empty()
    st.session_state["photos-signature"] = signature
    st.session_state["photos-result"] = (labelled, corrections_table(labelled))
batch: PhotoBatch
batch, editable = st.session_state["photos-result"]

for item in batch.rejected:
    st.warning(f"**{item.name}** was skipped: {item.reason}")
if (line := system_files_line(batch.system_files)) is not None:
    st.caption(line + ".")
table = batch.table()  # skipped files too, with their reason: the downloads say what was not labelled
faces = table[table.status == "ok"]
st.success(f"{len(batch.images)} image(s) labelled, {len(faces)} face(s) found.")
if len(table):
    left, right = st.columns([3, 2])
    left.dataframe(on_screen(table), width="stretch", hide_index=True, placeholder="", column_config={
        "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="percent")})
    right.plotly_chart(charts.emotion_counts(faces["emotion"]), width="stretch")

    c1, c2, c3 = st.columns(3)
    c1.download_button("Download CSV", table_csv(table), "faces.csv", "text/csv")
    c2.download_button("Download JSON", table_json(table), "faces.json", "application/json")
    # Written to a temporary file when asked for, streamed from disk once and deleted (downloads.py):
    # Streamlit's own download button would hold the whole ZIP in the server's memory.
    with c3:
        made: tuple[str, downloads.Offer] | None = st.session_state.get("photos-annotated")
        if made is not None and made[0] == signature and not made[1].served:
            st.link_button("Download annotated images (ZIP)", made[1].url, icon=":material/download:")
        elif st.button("Make the annotated images (ZIP)", disabled=not batch.images):
            st.session_state["photos-annotated"] = (signature, offer_annotated_zip(batch, files))
            st.rerun()

if batch.images:
    st.subheader("Gallery")
    columns = st.columns(4)
    shown = [(image.name, image.preview) for image in batch.images if image.preview is not None]
    for i, (name, picture) in enumerate(shown):
        columns[i % 4].image(picture, caption=name, width="stretch")
    if len(batch.images) > len(shown):
        st.caption(f"Showing the first {len(shown)} of {len(batch.images)}; the ZIP download has them all.")

if len(faces):
    st.subheader("Corrections")
    st.caption("Fix any wrong label, then download the faces as a dataset that `python -m fer train --data` reads.")
    edited = st.data_editor(
        editable, hide_index=True, width="stretch", disabled=["face", "file", "index", "predicted"],
        column_order=["face", "file", "index", "predicted", "label"],
        column_config={"face": st.column_config.ImageColumn("face", width="small"),
                       "label": st.column_config.SelectboxColumn("label", options=list(EMOTIONS), required=True)},
        key="photos-corrections",
    )
    changed = int((edited["label"] != edited["predicted"]).sum())
    st.write(f"{changed} label(s) corrected.")
    face_crops = {(image.index, i): face.crop for image in batch.images for i, face in enumerate(image.faces)
                  if face.crop is not None}
    corrected = [LabelledFace(row.file, row.index, face_crops[(row.photo, row.index)], row.label)
                 for row in edited.itertuples() if (row.photo, row.index) in face_crops]
    st.download_button("Download labelled faces (dataset ZIP)", dataset_zip(corrected), "corrected_faces.zip", "application/zip")
