"""Movie recommender: rate a few movies, get recommendations from people of similar taste.

A minimal page on the `reco` public API; the full app (search, sliders, charts) comes next.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reco import DatasetError, Recommender, StoreUnavailable, open_recommender

DATASET = "ml-100k"


@st.cache_resource(show_spinner=False)
def load_recommender(name: str) -> Recommender:
    """Once per process: load the dataset, build its index if missing (with a progress bar)."""
    bar = st.progress(0.0, text=f"Preparing {name}…")

    def progress(done: int, total: int | None) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0, text=f"Preparing {name}…")

    recommender = open_recommender(name, download_progress=progress, build_progress=progress)
    bar.empty()
    return recommender


def recommender_ui(name: str) -> Recommender | None:
    try:
        return load_recommender(name)
    except (DatasetError, StoreUnavailable) as error:
        st.error(str(error))
        return None


def main() -> None:
    st.set_page_config(page_title="Movie recommender", page_icon="🎬")
    st.title("🎬 Movie recommender")
    st.caption("Rate movies you know; people of similar taste suggest what to watch next.")
    recommender = recommender_ui(DATASET)
    if recommender is None:
        return
    movies = recommender.dataset.movies
    counts = recommender.dataset.ratings.groupby("movie_id").size()
    popular = movies.set_index("movie_id").loc[counts.sort_values(ascending=False).index[:300]]
    labels = {int(m): f"{row.title} ({row.year})" for m, row in popular.iterrows()}
    chosen = st.multiselect("Movies you have seen", list(labels), format_func=labels.get)
    ratings = {
        movie_id: st.slider(labels[movie_id], 0.5, 5.0, 4.0, 0.5, key=f"rate-{movie_id}")
        for movie_id in chosen
    }
    result = recommender.recommend_explained(ratings, limit=10)
    st.subheader("Popular movies" if result.popular else "Recommended for you")
    st.dataframe(
        pd.DataFrame(
            [
                {"Title": i.title, "Year": i.year, "Score": i.score, "Raters": i.raters}
                for i in result.items
            ]
        ),
        hide_index=True,
    )


main()
