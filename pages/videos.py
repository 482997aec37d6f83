import appkit  # noqa: I001 - first, see appkit
import tempfile
from pathlib import Path

import streamlit as st

from fer import charts
from fer.exports import table_csv
from fer.labelling import LabelRow, face_rows, on_screen, rows_to_frame
from fer.video import VideoError, analyse_video

appkit.require_navigation()

st.title("Videos")
appkit.adapter_notice("videos")
st.caption("Upload a video (mp4, mov, avi, webm). It is processed in a temporary file that is deleted afterwards.")
detector, min_score = appkit.detector_controls("videos")
thorough = appkit.thorough_control("videos", default=False)
every = st.sidebar.number_input("Analyse every k-th frame", 1, 30, 2, help="Higher is faster; the annotated video keeps every frame.")
uploaded = st.file_uploader("Video", type=["mp4", "mov", "avi", "webm", "mkv"])
if uploaded is None:
    st.info("Upload a video to follow every face's emotion over time.")
    st.stop()

key = (uploaded.name, uploaded.size, detector, min_score, every, thorough, appkit.adapter_signature())
if st.session_state.get("video-key") != key:
    bar = st.progress(0.0, text="Analysing…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=f"frame {done}" + (f" of {total}" if total else ""))

    with tempfile.TemporaryDirectory(prefix="fer-video-") as tmp:
        source = Path(tmp) / f"upload{Path(uploaded.name).suffix.lower()}"
        source.write_bytes(uploaded.getvalue())
        annotated = Path(tmp) / "annotated.mp4"
        try:
            analysis = analyse_video(source, appkit.pipeline(detector, min_score, thorough), every=every,
                                     annotated_path=annotated, on_progress=progress)
        except VideoError as exc:
            bar.empty()
            st.error(f"**{uploaded.name}** could not be analysed: {exc}")
            # The download says so too, in the row `python -m fer label` writes for such a file.
            failed = rows_to_frame([LabelRow(uploaded.name, f"error: {exc}")])
            st.dataframe(on_screen(failed), hide_index=True, placeholder="")
            st.download_button("Download CSV", table_csv(failed), f"{Path(uploaded.name).stem}_faces.csv", "text/csv")
            st.stop()
        video_bytes = annotated.read_bytes()
    bar.empty()
    table = rows_to_frame(row for result in analysis.frames for row in face_rows(uploaded.name, result, is_video=True))
    st.session_state["video-key"], st.session_state["video-result"] = key, (analysis, table, video_bytes)
analysis, table, video_bytes = st.session_state["video-result"]

faces = table[table.status == "ok"]
info = analysis.info
st.success(f"{analysis.frames_decoded} frames ({info.width}×{info.height}, {info.fps:.1f} fps); "
           f"{len(analysis.frames)} analysed, a face in {faces.frame.nunique()} of them.")
if len(faces):
    overall = faces.emotion.value_counts()
    st.metric("Dominant emotion overall", overall.index[0], f"{overall.iloc[0] / len(faces):.0%} of face observations", delta_color="off")
left, right = st.columns([3, 2])
left.video(video_bytes, format="video/mp4")
right.plotly_chart(charts.emotion_counts(faces.emotion, "Emotions across frames"), width="stretch")
for track in sorted(faces.track.dropna().unique()):
    st.plotly_chart(charts.face_over_time(faces, int(track)), width="stretch")
c1, c2 = st.columns(2)
c1.download_button("Download CSV", table_csv(table), f"{Path(uploaded.name).stem}_faces.csv", "text/csv")
c2.download_button("Download annotated video", video_bytes, f"{Path(uploaded.name).stem}_annotated.mp4", "video/mp4")
