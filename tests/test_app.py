"""The Streamlit page, driven by AppTest on ml-100k from ../shared/datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app(ml100k_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("RECO_DATA_DIR", str(ml100k_dir))
    return AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)


def test_page_runs_and_shows_popular_movies_first(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert app.subheader[0].value == "Popular movies"


def test_rating_movies_gives_recommendations_without_them(app: AppTest) -> None:
    app.run()
    app.multiselect[0].set_value([50, 172, 181]).run()
    for slider in app.slider:
        slider.set_value(5.0)
    app.run()
    assert not app.exception
    assert app.subheader[0].value == "Recommended for you"
    titles = app.dataframe[0].value["Title"].tolist()
    assert "Raiders of the Lost Ark" in titles
    assert not {"Star Wars", "The Empire Strikes Back", "Return of the Jedi"} & set(titles)
