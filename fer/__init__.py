"""Facial expression recognition: face detection, a FER2013 CNN, video and bulk labelling.

The library behind the Streamlit app and ``python -m fer``; it never imports Streamlit.
"""
