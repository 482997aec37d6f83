"""What the pages share: models loaded once per process, the model's report files, app settings.

Only Streamlit glue lives here; the work itself is in ``fer``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from fer.adapter import Adapter
from fer.classifier import DEFAULT_MODEL, MODELS_DIR, EmotionClassifier
from fer.detection import DEFAULT_DETECTOR, DEFAULT_MIN_SCORE, DETECTORS, make_detector
from fer.malloc import keep_frames_unmapped
from fer.pipeline import EmotionPipeline

keep_frames_unmapped()  # the server lives long and handles frames: fer.malloc says why

# With async processing, streamlit-webrtc hands the callback only the newest frame and drops the
# ones that queued up meanwhile: that is what keeps the live view from falling behind a camera that
# is faster than we are. It warns on every drop; here a drop is the design, not a fault.
logging.getLogger("streamlit_webrtc.process").setLevel(logging.ERROR)

DETECTOR_HELP = (
    "blazeface-full: MediaPipe's full-range DNN, finds small and distant faces too (default). "
    "blazeface-short: its short-range sibling, twice as fast, for one face near the camera. "
    "haar: OpenCV's classic cascade."
)


@st.cache_resource(show_spinner="Loading the emotion model…")
def classifier(thorough: bool = False) -> EmotionClassifier:
    if thorough:  # the model already loaded, given ten views: the file is read once per process
        return classifier().with_thorough(True)
    return EmotionClassifier.load(DEFAULT_MODEL)


@st.cache_resource(show_spinner=False, max_entries=8)  # each threshold value is an entry
def shared_pipeline(detector: str = DEFAULT_DETECTOR, min_score: float = DEFAULT_MIN_SCORE, thorough: bool = False,
                    crops: bool = False) -> EmotionPipeline:
    """One pipeline per detector setting and process; the classifier inside is shared."""
    return EmotionPipeline(make_detector(detector, min_score), classifier(thorough), crops=crops)


@st.cache_resource(show_spinner="Loading the model's embedding file…")
def embedding_classifier() -> EmotionClassifier:
    """The shipped model's embedding file (what adapters fit on and read with), loaded once per process."""
    return EmotionClassifier.load(DEFAULT_MODEL, embeddings=True)


def pipeline(detector: str = DEFAULT_DETECTOR, min_score: float = DEFAULT_MIN_SCORE, thorough: bool = False,
             crops: bool = False) -> EmotionPipeline:
    """The pipeline a page reads with: the shared one, or, while this tab uses an adapter, the same
    detector in front of the embedding file reading with it (kept in the tab's state, never shared)."""
    base = shared_pipeline(detector, min_score, thorough, crops)
    adapter = active_adapter()
    if adapter is None:
        return base
    key = (detector, min_score, thorough, crops)
    adapted: dict = st.session_state.setdefault("adapted-pipelines", {})  # use_adapter empties it
    if key not in adapted:
        classifier = embedding_classifier().with_thorough(thorough).with_adapter(adapter)
        adapted[key] = EmotionPipeline(base.detector, classifier, crops=crops)
    return adapted[key]


# --- your own adapter (fer.adapter), per browser tab --------------------------------------------

ADAPTER_KEY = "adapter"


def active_adapter() -> Adapter | None:
    """The adapter this tab reads with (``use_adapter``), or None: the shipped model as it is."""
    return st.session_state.get(ADAPTER_KEY)


def use_adapter(adapter: Adapter | None) -> None:
    """Read with ``adapter`` in this tab from now on (None: back to the shipped model); AdapterError
    where it was fit on another model."""
    if adapter is not None:
        embedding_classifier().with_adapter(adapter)  # refuses another model's adapter, with why
    st.session_state[ADAPTER_KEY] = adapter
    st.session_state.pop("adapted-pipelines", None)


def adapter_signature() -> str:
    """What changes when the tab's adapter does: part of a page's cache key for its results."""
    adapter = active_adapter()
    return "" if adapter is None else hashlib.sha1(adapter.to_bytes()).hexdigest()


def adapter_notice(key: str) -> None:
    """One line saying the page reads with the tab's adapter, and the way back to the shipped model."""
    adapter = active_adapter()
    if adapter is None:
        return
    text, back = st.columns([5, 1], vertical_alignment="center")
    text.info(f"Reading with your adapter, fit on {sum(adapter.faces.values())} faces on {adapter.fitted}: better on "
              "faces like those, worse on others.", icon=":material/tune:")
    if back.button("Back to the shipped model", key=f"{key}-no-adapter"):
        use_adapter(None)
        st.rerun()


def detector_controls(key: str) -> tuple[str, float]:
    """Sidebar detector and threshold widgets; returns (detector, min_score)."""
    detector = st.sidebar.selectbox("Face detector", DETECTORS, key=f"{key}-detector", help=DETECTOR_HELP)
    min_score = st.sidebar.slider("Detection threshold", 0.3, 0.95, DEFAULT_MIN_SCORE, 0.05, key=f"{key}-min-score",
                                  help="Faces the detector is less sure of than this are ignored.")
    return detector, min_score


def thorough_control(key: str, default: bool) -> bool:
    """Sidebar switch between the model's own reading of a face and ten views of it (``fer.views``)."""
    return st.sidebar.toggle("Thorough: ten views per face", default, key=f"{key}-thorough", help=thorough_help())


def thorough_help() -> str:
    text = ("Reads each face over ten views (shifted by 2 pixels, and mirrored) and averages them: about ten "
            "times the shipped model's classification time per face.")
    quick, thorough = read_report("metrics.json"), read_report("metrics_thorough.json")
    if quick and thorough:
        # Both splits: the choice was made on PublicTest, and PrivateTest says how far it carried.
        label_set, pick = ("FER+ majority", lambda m: m["ferplus"]) if "ferplus" in quick and "ferplus" in thorough \
            else ("FER2013", lambda m: m)
        text += f" {label_set} accuracy, ten views against the default: " + ", ".join(
            f"{split} {pick(thorough)[key]['accuracy']:.1%} against {pick(quick)[key]['accuracy']:.1%}"
            for key, split in (("public_test", "PublicTest"), ("private_test", "PrivateTest")))
        text += "."
    return text


CROPS_HELP = ("Each image is one face, already cut out (a labelled face collection, film stills cut to the face): "
              "no face detection, the whole image is read as the face. Off: faces are detected, and an image "
              "where none is found is looked at once more on a wider canvas, which finds most face crops too.")


def crops_control(key: str) -> bool:
    """Sidebar switch: read each image whole as one face (``EmotionPipeline.crops``)."""
    return st.sidebar.toggle("My photos are face crops", False, key=f"{key}-crops", help=CROPS_HELP)


WHY_FERPLUS = ("FER+ first: FER2013 gives each face one annotator's label, and on the faces where ten FER+ "
               "annotators agree, that label matches their majority only about two times in three, so the crowd's "
               "majority is the fairer judge.")


def read_report(name: str) -> dict[str, Any] | None:
    path = MODELS_DIR / name
    return json.loads(path.read_text()) if path.is_file() else None


def read_history() -> pd.DataFrame | None:
    path = MODELS_DIR / "history.csv"
    return pd.read_csv(path) if path.is_file() else None


# --- page bookkeeping -------------------------------------------------------------------------

def require_navigation() -> None:
    """Make sure a page runs under app.py's ``st.navigation``, not Streamlit's older pages/ mode.

    A fresh server that finds a ``pages/`` folder serves its first request the v1 way until some
    run calls ``st.navigation``; a first visit straight to ``/live`` would then run the page alone,
    with file names for a menu. One rerun in v2 mode hands control to app.py, which resolves the
    same URL to the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and st.session_state.get("_current_page") is None:
        PagesManager.uses_pages_directory = False
        st.rerun()


def record_page(url_path: str) -> None:
    """Remember which page the previous full run showed, so a page can tell reruns from arrivals."""
    st.session_state["_previous_page"] = st.session_state.get("_current_page")
    st.session_state["_current_page"] = url_path


def stayed_on_page() -> bool:
    return st.session_state.get("_previous_page") == st.session_state.get("_current_page")


def keep_webrtc_context(key: str) -> None:
    """Stop streamlit-webrtc from tearing down a stream that is still on screen.

    streamlit-webrtc resets a context when ``script_run_count`` moved more than one past the run
    that last rendered it, meaning "the user left the page and came back". That count grows when
    a run's ``script_finished`` message is flushed, which can happen after the next run already
    started: two quick reruns right after connecting then look like an absence, and the fresh
    stream is stopped ("Context for key=… was not rendered for 1 script runs"). While the user has
    stayed on this page nothing was unmounted, so we clear the marker and skip that check; after
    real navigation we leave it, and the reset still happens when it should.
    """
    context = st.session_state.get(key)
    if context is not None and stayed_on_page() and hasattr(context, "_last_rendered_run_count"):
        context._last_rendered_run_count = None


# --- WebRTC ICE servers -----------------------------------------------------------------------

def ice_servers(env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """ICE servers for the browser and the server: none by default (localhost, offline).

    For a deployment behind NAT (Streamlit Community Cloud), give a TURN server either in
    ``.streamlit/secrets.toml`` as ``[turn]`` with ``urls``, ``username``, ``credential``, or in the
    environment as ``FER_TURN_URLS`` (comma-separated), ``FER_TURN_USERNAME``, ``FER_TURN_CREDENTIAL``.
    """
    env = os.environ if env is None else env
    turn = dict(secrets.get("turn", {})) if secrets is not None else {}
    urls = turn.get("urls") or [u.strip() for u in env.get("FER_TURN_URLS", "").split(",") if u.strip()]
    if not urls:
        return []
    server: dict[str, Any] = {"urls": urls if isinstance(urls, list) else [urls]}
    username = turn.get("username") or env.get("FER_TURN_USERNAME")
    credential = turn.get("credential") or env.get("FER_TURN_CREDENTIAL")
    if username and credential:
        server.update(username=username, credential=credential)
    return [server]


def app_secrets() -> Mapping[str, Any] | None:
    try:
        return dict(st.secrets)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None


def model_path_label() -> str:
    return str(DEFAULT_MODEL.relative_to(MODELS_DIR.parent))
