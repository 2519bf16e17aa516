"""The Streamlit app over `reco`: its state (`state`), its cached resources (`resources`), what a
view fetches before drawing (`fetch`), how it words things (`text`), its charts (`charts`) and
one module per view (`views`). `streamlit_app.py` is the frame that puts them on a page."""
