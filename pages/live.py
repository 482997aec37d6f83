import appkit  # noqa: I001 - first, see appkit
import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from fer import charts
from fer.exports import table_csv
from fer.live import LiveSession, session_summary
from fer.tracking import ReadingPolicy

appkit.require_navigation()

STREAM_KEY = "live-camera"

st.title("Live webcam")
appkit.adapter_notice("live")
st.caption("Frames are processed on this machine as they arrive and are never stored.")
detector, min_score = appkit.detector_controls("live")
smoothing = st.sidebar.slider("Smoothing", 0.0, 0.95, 0.6, 0.05, help="Weight of the past in each face's probabilities over one frame of a 30 frames/s camera, however often the face is read: higher is steadier, slower to change.")
detect_every = st.sidebar.slider("Detect faces every k frames", 1, 5, 1, help="Between detections the last boxes are reused and only classified: faster, and fine for faces that move slowly (docs/benchmarks.md measures both).")
reading_rate = st.sidebar.select_slider("Emotion readings a second per face", [5, 10, 15, 30], 10, format_func=lambda r: "every frame" if r == 30 else str(r), help="Fewer readings leave more of the CPU to the video; smoothing works in seconds, so labels follow a change as fast (docs/benchmarks.md measures both).")
reading = ReadingPolicy.per_second(reading_rate)
st.sidebar.caption(reading.describe())
min_confidence = st.sidebar.slider("Label confidence threshold", 0.0, 0.9, 0.0, 0.05, help="Hide faces whose top emotion is less likely than this.")

# One LiveSession per stream: made when a stream starts, kept after it stops for the summary.
was_playing = st.session_state.get("live-was-playing", False)
context = st.session_state.get(STREAM_KEY)
playing_now = bool(context is not None and context.state.playing)
if "live-session" not in st.session_state or (playing_now and not was_playing):
    st.session_state["live-session"] = LiveSession(appkit.pipeline(detector, min_score), smoothing)
session: LiveSession = st.session_state["live-session"]
session.pipeline = appkit.pipeline(detector, min_score)
session.set_smoothing(smoothing)
session.set_detect_every(detect_every)
session.set_reading(reading)
session.min_confidence = min_confidence


def on_frame(frame: av.VideoFrame) -> av.VideoFrame:
    # Runs on the stream's thread: library code only, no st.* here.
    return av.VideoFrame.from_ndarray(session.process(frame.to_ndarray(format="rgb24")), format="rgb24")


appkit.keep_webrtc_context(STREAM_KEY)
ice = {"iceServers": appkit.ice_servers(secrets=appkit.app_secrets())}
context = webrtc_streamer(
    key=STREAM_KEY, mode=WebRtcMode.SENDRECV, video_frame_callback=on_frame, async_processing=True,
    rtc_configuration=ice, server_rtc_configuration=ice,
    media_stream_constraints={"video": True, "audio": False},
)
st.session_state["live-was-playing"] = context.state.playing


@st.fragment(run_every=1.0)
def live_charts() -> None:
    snapshot = session.snapshot()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Processed frames/s", f"{snapshot.fps:.1f}")
    c2.metric("Emotion readings/s", f"{snapshot.readings_per_s:.1f}")
    c3.metric("Faces now", snapshot.faces_now)
    c4.metric("Frames processed", snapshot.frames)
    left, right = st.columns(2)
    left.plotly_chart(charts.distribution_bar(snapshot.distribution), width="stretch", key="live-distribution")
    right.plotly_chart(charts.live_timeline(snapshot.timeline), width="stretch", key="live-timeline")


if context.state.playing:
    live_charts()
else:
    log = session.per_second_log()
    if len(log):
        st.subheader("Session summary")
        summary = session_summary(log)
        st.markdown(f"{len(log)} seconds, **{summary.iloc[0]:.0%} {summary.index[0]}** most of the time." if len(summary) else f"{len(log)} seconds, no face seen.")
        if len(summary):
            st.plotly_chart(charts.distribution_bar(summary.to_dict(), "Share of seconds per dominant emotion"), width="stretch")
        st.download_button("Download the per-second log (CSV)", table_csv(log), "live_log.csv", "text/csv")
    else:
        st.info("Press START and allow the camera. Every face gets a box, its emotion and confidence.")
