"""Adding a neighbour filter is one definition in `reco.filters` (plus a reader that has the
field): a made-up ``region`` field, given in a synthetic release's users, reaches the index's
payload and the engine's filter, the catalog's cells, the neighbours, the CLI and the sidebar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from conftest import page_test, two_taste_dataset

from app import state as keys
from app.state import RATINGS, per_release
from reco import filters
from reco.cli import _parser
from reco.datasets import Dataset
from reco.filters import FilterField
from reco.recommend import Recommender
from reco.store import UserStore, open_store

REGION = FilterField("region", "regions", "Regions", "Region", "--region")
FAN = {1: 5.0, 2: 5.0, 3: 4.5}


@pytest.fixture
def with_region(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dataset]:
    """The filters with ``region``, and the two-taste release whose users live north
    (users 1-5) or south."""
    base = two_taste_dataset()  # read before the field exists: its users have no region
    monkeypatch.setattr(filters, "FILTERS", (*filters.FILTERS, REGION))
    users = base.users.assign(region=["north" if u <= 5 else "south" for u in base.users.user_id])
    yield Dataset(base.ratings, base.movies, users, name="ml-100k")


def test_a_made_up_field_reaches_every_layer_of_the_library(
    with_region: Dataset, store: UserStore
) -> None:
    assert "region" in with_region.users.columns  # the frame keeps the filter's column
    recommender = Recommender.build(with_region, store)
    assert recommender.choices("region") == ["north", "south"]  # the catalog's cells
    assert recommender.population("region") == {"north": 5, "south": 15}  # the payload
    result = recommender.recommend_explained(FAN, regions=["north"])  # the engine's filter
    assert result.neighbours and {n.region for n in result.neighbours} == {"north"}
    assert {n.user_id for n in result.neighbours} <= {1, 2, 3, 4, 5}
    assert result.where.shown() == ["north"]
    popular = recommender.popular(3, recommender.user_filter(regions=["south"]))
    assert popular  # the popular fallback sums the region's cells
    with pytest.raises(ValueError, match="unknown region 'east'"):
        recommender.recommend(FAN, regions=["east"])
    args = _parser().parse_args(["recommend", "--region", "north", "--region", "south"])
    assert args.regions == ["north", "south"]  # the CLI option


def test_a_made_up_field_gets_its_own_multiselect_in_the_sidebar(
    with_region: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECO_DATA_DIR", str(tmp_path))
    Recommender.build(with_region, open_store("ml-100k", data_dir=tmp_path)).store.close()
    st.cache_resource.clear()
    page = page_test()
    page.session_state[keys.NEIGHBOUR_FILTERS_OPEN] = True
    page.run()
    assert not page.exception
    regions = page.multiselect(key=keys.filter_key(REGION, "ml-100k"))
    users = with_region.users["region"].value_counts()  # each region with its users
    assert regions.label == "Regions"
    assert list(regions.options) == [f"north · {users['north']}", f"south · {users['south']}"]
    page.session_state[per_release(RATINGS, "ml-100k")] = dict(FAN)
    regions.set_value(["north"]).run()
    assert not page.exception
    said = " ".join(c.value for c in page.sidebar.caption)
    assert f"{users['north']} users in these groups together" in said, said
    shown = [frame.value for frame in page.dataframe if "Region" in frame.value.columns]
    assert shown and set(pd.concat(shown)["Region"]) == {"north"}
    st.cache_resource.clear()
