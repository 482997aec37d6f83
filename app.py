"""Facial expression recognition: ``streamlit run app.py``."""

# Import order matters: importing aiortc's SRTP binding (pylibsrtp, via streamlit_webrtc) after
# TensorFlow segfaults the process (TF 2.21 with pylibsrtp 1.0.0 and 0.12.0 alike). Loaded first,
# it binds its own crypto symbols and both work. So streamlit_webrtc comes before anything of fer.
import streamlit_webrtc  # noqa: F401, I001

import streamlit as st

import appkit

st.set_page_config(page_title="Facial expression recognition", page_icon="🙂", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/live.py", title="Live webcam", icon="🎥", url_path="live"),
    st.Page("pages/photos.py", title="Bulk photos", icon="🖼️", url_path="photos"),
    st.Page("pages/videos.py", title="Videos", icon="🎞️", url_path="videos"),
    st.Page("pages/training.py", title="Training metrics", icon="📈", url_path="training"),
]
page = st.navigation(pages)
appkit.record_page(page.url_path)
page.run()
