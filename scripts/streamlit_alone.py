"""The least a Streamlit page costs on this machine: a title, one slider and a line that
follows it, nothing of the app. The browser tests time it the way they time the app (first
render of a warm server, slider change -> page updated), so the app's figures can be read
against what Streamlit's own front end takes here."""

import streamlit as st

st.title("Streamlit alone")
stars = st.slider("Stars", 0.0, 5.0, 0.0, 0.5)
st.subheader(f"Chosen: {stars:.1f}")
