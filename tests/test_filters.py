"""The neighbour filters come from one list that every layer reads."""

from __future__ import annotations

import pytest
from conftest import two_taste_dataset

from reco.cli import _parser
from reco.filters import FILTERS, UserFilter, field_names
from reco.recommend import Recommender


def test_a_user_filter_is_built_from_the_filters_keywords() -> None:
    where = UserFilter(age_groups=["25-34"], genders=("F",), occupations=[])
    assert where.conditions() == [("age_group", ["25-34"]), ("gender", ["F"])]
    assert where == UserFilter(genders=["F"], age_groups=["25-34"])  # a cache key
    assert not UserFilter() and bool(where)
    assert where.shown() == ["25-34", "Female"]  # as the sidebar shows them
    with pytest.raises(TypeError, match="unknown filter 'ages'"):
        UserFilter(ages=["25-34"])


def test_every_layer_reads_the_one_list() -> None:
    assert field_names() == tuple(f.name for f in FILTERS)
    parser = _parser()
    argv = ["recommend"]
    for field in FILTERS:
        argv += [field.option, "x"]
    args = parser.parse_args(argv)
    assert {f.keyword: getattr(args, f.keyword) for f in FILTERS} == {
        f.keyword: ["x"] for f in FILTERS
    }
    recommender = Recommender.build(two_taste_dataset())
    assert recommender.catalog.cells is not None
    assert tuple(recommender.catalog.cells.columns[:-1]) == field_names()  # then "users"
    for field in FILTERS:
        value = recommender.choices(field.name)[0]
        where = recommender.user_filter(**{field.keyword: [value]})
        assert where.conditions() == [(field.name, [value])]
        assert recommender.recommend({1: 5.0, 2: 5.0}, **{field.keyword: [value]}) is not None
    with pytest.raises(ValueError, match="unknown filter 'ages'"):
        recommender.recommend({1: 5.0}, ages=["18-24"])


def test_values_read_as_people_say_them() -> None:
    gender = next(f for f in FILTERS if f.name == "gender")
    assert gender.show("F") == "Female" and gender.show("X") == "X"
    age = next(f for f in FILTERS if f.name == "age_group")
    assert age.order[0] == "Under 18"
