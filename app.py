"""Facial expression recognition: ``streamlit run app.py``.

The pages and their menu are ``navigation.py``; this file serves them with one route of our own
beside Streamlit's: large downloads streamed from disk (``downloads``), which Streamlit's own
download button would hold in memory.
"""

import streamlit as st

import downloads

app = st.App("navigation.py", routes=downloads.routes())
