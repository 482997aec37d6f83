"""The pages and their menu, served by ``app.py`` (``streamlit run app.py``)."""

import streamlit as st

import appkit

appkit.require_navigation()  # a fresh server's first request must not run in pages/ (v1) mode
st.set_page_config(page_title="Facial expression recognition", page_icon=":material/mood:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/live.py", title="Live webcam", icon=":material/videocam:", url_path="live"),
    st.Page("pages/photos.py", title="Bulk photos", icon=":material/photo_library:", url_path="photos"),
    st.Page("pages/videos.py", title="Videos", icon=":material/movie:", url_path="videos"),
    st.Page("pages/training.py", title="Training metrics", icon=":material/monitoring:", url_path="training"),
]
page = st.navigation(pages)
appkit.record_page(page.url_path)
page.run()
