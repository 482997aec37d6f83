import appkit  # noqa: I001 - first, see appkit
import base64
import hashlib

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from fer import charts
from fer.annotate import annotate
from fer.emotions import EMOTIONS
from fer.exports import LabelledFace, annotated_zip, dataset_zip, table_csv, table_json
from fer.labelling import PhotoBatch, label_uploads, on_screen

appkit.require_navigation()

GALLERY_LIMIT = 24


def thumbnail(crop: np.ndarray) -> str:
    _ok, png = cv2.imencode(".png", crop)
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def corrections_table(batch: PhotoBatch) -> pd.DataFrame:
    """One row per face: what the model saw, its label, and a label column for the user to fix."""
    faces = [(image.name, i, face) for image in batch.images for i, face in enumerate(image.faces)]
    return pd.DataFrame({
        "face": [thumbnail(face.crop) if face.crop is not None else None for _, _, face in faces],
        "file": [name for name, _, _ in faces], "index": [i for _, i, _ in faces],
        "predicted": [face.emotion for _, _, face in faces], "label": [face.emotion for _, _, face in faces],
    })

st.title("Bulk photos")
st.caption("Upload photos (JPEG, PNG, WebP, BMP) or .zip archives of them. They are processed in memory and not stored.")
detector, min_score = appkit.detector_controls("photos")
# On by default here: a photo's decoding and detection already cost several times the extra views.
thorough = appkit.thorough_control("photos", default=True)
uploaded = st.file_uploader("Photos or .zip archives", type=["jpg", "jpeg", "png", "webp", "bmp", "zip"],
                            accept_multiple_files=True)
if not uploaded:
    st.info("Upload some photos to label every face in them.")
    st.stop()

files = [(f.name, f.getvalue()) for f in uploaded]
signature = hashlib.sha1(repr([(n, len(d), hashlib.sha1(d).hexdigest()) for n, d in files] + [detector, min_score, thorough]).encode()).hexdigest()
if st.session_state.get("photos-signature") != signature:
    bar = st.progress(0.0, text="Labelling…")

    def show_progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total, text=f"{done}/{total}: {name}")

    labelled = label_uploads(files, appkit.pipeline(detector, min_score, thorough), on_progress=show_progress)
    bar.empty()
    # Annotated copies, their ZIP and the face thumbnails are made once per batch, not on every
    # rerun (each label edit is one).
    annotated = [annotate(image.rgb, image.faces) for image in labelled.images[:GALLERY_LIMIT]]
    st.session_state["photos-signature"] = signature
    st.session_state["photos-result"] = (labelled, annotated, annotated_zip(labelled.images), corrections_table(labelled))
batch: PhotoBatch
batch, annotated, annotated_archive, editable = st.session_state["photos-result"]

for item in batch.rejected:
    st.warning(f"**{item.name}** was skipped: {item.reason}")
table = batch.table()
faces = table[table.status == "ok"]
st.success(f"{len(batch.images)} image(s) labelled, {len(faces)} face(s) found.")
if batch.images:
    left, right = st.columns([3, 2])
    left.dataframe(on_screen(table), width="stretch", hide_index=True, column_config={
        "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="percent")})
    right.plotly_chart(charts.emotion_counts(faces["emotion"]), width="stretch")

    c1, c2, c3 = st.columns(3)
    c1.download_button("Download CSV", table_csv(table), "faces.csv", "text/csv")
    c2.download_button("Download JSON", table_json(table), "faces.json", "application/json")
    c3.download_button("Download annotated images (ZIP)", annotated_archive, "annotated.zip", "application/zip")

    st.subheader("Gallery")
    columns = st.columns(4)
    for i, (image, picture) in enumerate(zip(batch.images, annotated, strict=False)):
        columns[i % 4].image(picture, caption=image.name, width="stretch")
    if len(batch.images) > GALLERY_LIMIT:
        st.caption(f"Showing the first {GALLERY_LIMIT} of {len(batch.images)}; the ZIP download has them all.")

if len(faces):
    st.subheader("Corrections")
    st.caption("Fix any wrong label, then download the faces as a dataset that `python -m fer train --data` reads.")
    edited = st.data_editor(
        editable, hide_index=True, width="stretch", disabled=["face", "file", "index", "predicted"],
        column_config={"face": st.column_config.ImageColumn("face", width="small"),
                       "label": st.column_config.SelectboxColumn("label", options=list(EMOTIONS), required=True)},
        key="photos-corrections",
    )
    changed = int((edited["label"] != edited["predicted"]).sum())
    st.write(f"{changed} label(s) corrected.")
    crops = {(image.name, i): face.crop for image in batch.images for i, face in enumerate(image.faces)
             if face.crop is not None}
    corrected = [LabelledFace(row.file, row.index, crops[(row.file, row.index)], row.label) for row in edited.itertuples()]
    st.download_button("Download labelled faces (dataset ZIP)", dataset_zip(corrected), "corrected_faces.zip", "application/zip")
